package io.modelway.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.cache.CacheStage;
import io.modelway.gateway.quota.Admission;
import io.modelway.gateway.usage.Accounting;
import io.modelway.gateway.catalog.LiveAliases;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.registry.Registry;
import io.modelway.gateway.routing.InstancePools;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.gateway.scheduling.Schedule;
import java.time.Clock;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import io.modelway.openai.OpenAiException;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Mono;
import reactor.netty.NettyPipeline;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.WebFilter;

/** Wires the OpenAI-compatible API: its routes, its handler and its error mapping. */
@Configuration(proxyBeanMethods = false)
public class ApiConfiguration {

  @Bean
  ModelRouter modelRouter(LiveCatalog catalog, LiveAliases aliases, GatewayOptions options,
      ObjectProvider<Registry> registry, InstancePools pools) {
    return new ModelRouter(catalog, aliases, options.models(),
        Optional.ofNullable(registry.getIfAvailable()), pools, Clock.systemUTC());
  }

  @Bean
  OpenAiHandler openAiHandler(LiveCatalog catalog, LiveAliases aliases, ModelRouter router,
      Access access,
      ObjectProvider<Admission> admission, ObjectProvider<CacheStage> cache,
      ObjectProvider<Accounting> accounting, Schedule schedule, MeterRegistry meters) {
    return new OpenAiHandler(catalog, aliases, router, access.api(),
        admission.getIfAvailable(() -> Admission.unlimited(meters)),
        cache.getIfAvailable(() -> CacheStage.off(meters)),
        accounting.getIfAvailable(Accounting::none), schedule, meters);
  }

  @Bean
  RouterFunction<ServerResponse> openAiRoutes(OpenAiHandler handler) {
    return RouterFunctions.route()
        .GET("/v1/models", handler::listModels)
        .GET("/v1/models/{*id}", handler::getModel)
        .route(RequestPredicates.path("/v1/chat/completions")
                .or(RequestPredicates.path("/v1/completions"))
                .or(RequestPredicates.path("/v1/embeddings"))
                .or(RequestPredicates.path("/v1/models/**")),
            ApiConfiguration::methodNotAllowed)
        .build();
  }

  private static Mono<ServerResponse> methodNotAllowed(ServerRequest request) {
    return Mono.error(new OpenAiException(405, "invalid_request_error",
        "Method " + request.method() + " is not allowed on " + request.path() + ".", null,
        "method_not_allowed"));
  }

  /** The generation and embedding routes, on Reactor Netty ahead of WebFlux. */
  @Bean
  NettyRouteProvider dataPlane(OpenAiHandler handler) {
    return new DataPlane(handler);
  }

  /** A request's {@code Connection: close} carried out behind the HTTP codec of each connection. */
  @Bean
  NettyServerCustomizer connectionClose() {
    return server -> server.doOnChannelInit((observer, channel, remoteAddress) -> {
      if (channel.pipeline().get(NettyPipeline.HttpCodec) != null) {
        channel.pipeline().addAfter(NettyPipeline.HttpCodec, ConnectionCloseHandler.NAME,
            new ConnectionCloseHandler());
      }
    });
  }

  /** A path with '.' or '..' segments is refused before any route or endpoint sees it. */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE)
  WebFilter dotSegments() {
    return new DotSegments();
  }

  /** Ahead of Spring Boot's own handler (order -1), so no error leaves in Spring's shape. */
  @Bean
  @Order(-2)
  OpenAiErrorHandler openAiErrorHandler() {
    return new OpenAiErrorHandler();
  }
}
