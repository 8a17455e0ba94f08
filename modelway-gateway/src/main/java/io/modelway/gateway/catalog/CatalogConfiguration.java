package io.modelway.gateway.catalog;

import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.gateway.GatewayOptions;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.netty.http.client.HttpClient;

/** Wires the catalog: the shared backend client, the live catalog and its health. */
@Configuration(proxyBeanMethods = false)
public class CatalogConfiguration {
  private static final Logger log = LoggerFactory.getLogger(CatalogConfiguration.class);

  /** Keep-alive connections per backend address; calls beyond it wait for a free one. */
  static final int MAX_CONNECTIONS_PER_BACKEND = 1024;

  @Bean
  HttpClient backendHttpClient() {
    return OpenAiHttpBackend.sharedClient(MAX_CONNECTIONS_PER_BACKEND);
  }

  @Bean(destroyMethod = "close")
  LiveCatalog liveCatalog(GatewayOptions options, HttpClient backendHttpClient) {
    LiveCatalog catalog = new LiveCatalog(
        options.configFile().orElse(null),
        config -> Catalog.build(
            ConfigLoader.withUpstreams(config, options.upstreams(), options.upstreamKeys()),
            options.environment(),
            backendHttpClient),
        Clock.systemUTC());
    catalog.watch();
    Catalog current = catalog.current();
    if (current.backends().isEmpty() && current.models().isEmpty()
        && options.models().statuses().isEmpty()) {
      log.info("No models configured yet. Add one with --upstream NAME=BASE_URL (then call model"
          + " NAME/<model>), or write a config file and pass --config FILE (see the README's"
          + " config reference).");
    } else if (!current.backends().isEmpty() || !current.models().isEmpty()) {
      log.info("Serving {} models {}; backends {} (any of their models as BACKEND/MODEL)",
          current.models().size(), current.models(), current.backends());
    }
    return catalog;
  }

  /** The aliases in force; their runtime overrides come from the store where there is one. */
  @Bean
  LiveAliases liveAliases() {
    return new LiveAliases();
  }

  @Bean
  HealthIndicator configHealthIndicator(LiveCatalog catalog) {
    return () -> {
      LiveCatalog.Status s = catalog.status();
      Health.Builder health = Health.up()
          .withDetail("file", s.file().map(Object::toString).orElse("none"))
          .withDetail("version", s.version())
          .withDetail("appliedAt", s.appliedAt().toString())
          .withDetail("models", s.models());
      s.lastError().ifPresent(e -> health.withDetail("rejectedChange", e));
      return health.build();
    };
  }
}
