package io.modelway.gateway.runtime;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Access;
import io.modelway.runtime.ModelHost;
import java.util.Locale;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/** Wires the local models into the server: their health and their admin API. */
@Configuration(proxyBeanMethods = false)
public class RuntimeConfiguration {

  /**
   * {@code models} in {@code /actuator/health} (and the readiness probe): OUT_OF_SERVICE while a
   * model is loading, so nothing routes here before its models can answer; UP once every model is
   * ready or failed (a failed model is reported, and the others are served).
   */
  @Bean
  HealthIndicator modelsHealthIndicator(GatewayOptions options) {
    ModelHost models = options.models();
    return () -> {
      Health.Builder health = models.settled() ? Health.up() : Health.status(Status.OUT_OF_SERVICE);
      for (ModelHost.Status status : models.statuses()) {
        health.withDetail(status.name(), status.error()
            .map(error -> "failed: " + error)
            .orElse(status.state().name().toLowerCase(Locale.ROOT)));
      }
      return health.build();
    };
  }

  @Bean
  RouterFunction<ServerResponse> modelsAdminRoutes(GatewayOptions options, Access access) {
    return new ModelsAdminApi(options.models(), access.admin()).routes();
  }
}
