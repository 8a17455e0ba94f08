package io.modelway.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.quota.Admission;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.gateway.routing.UpstreamModels;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * Wires model discovery: {@code GET /v1/models} and {@code GET /v1/models/{id}} ({@link ModelsApi})
 * and the cache of the backends' own model lists ({@link UpstreamModels}).
 */
@Configuration(proxyBeanMethods = false)
public class ModelsConfiguration {

  @Bean
  UpstreamModels upstreamModels() {
    return new UpstreamModels(Clock.systemUTC());
  }

  @Bean
  ModelsApi modelsApi(LiveCatalog catalog, ModelRouter router, Access access,
      ObjectProvider<Admission> admission, UpstreamModels upstream, MeterRegistry meters) {
    return new ModelsApi(catalog, router, access.api(),
        admission.getIfAvailable(() -> Admission.unlimited(meters)), upstream,
        ModelsApi.FIRST_FETCH_WAIT);
  }

  /**
   * Ahead of {@link ApiConfiguration}'s routes, which answer 405 to other methods on these
   * paths.
   */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE)
  RouterFunction<ServerResponse> modelsRoutes(ModelsApi api) {
    return RouterFunctions.route()
        .GET("/v1/models", api::listModels)
        .GET("/v1/models/{*id}", api::getModel)
        .build();
  }
}
