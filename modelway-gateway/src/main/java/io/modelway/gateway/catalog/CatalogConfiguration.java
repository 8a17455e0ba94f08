package io.modelway.gateway.catalog;

import io.modelway.backend.ConnectionPools;
import io.modelway.gateway.GatewayOptions;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;

/** Wires the catalog: the backends' connection pools, the live catalog and its health. */
@Configuration(proxyBeanMethods = false)
public class CatalogConfiguration {
  private static final Logger log = LoggerFactory.getLogger(CatalogConfiguration.class);

  /**
   * Keep-alive connections per backend address, all event loops together: each loop's pool has
   * an even share, and a call beyond its loop's share waits for one of them to be free.
   */
  static final int MAX_CONNECTIONS_PER_BACKEND = 1024;

  /**
   * The backends' connection pools, one per event loop of the loops the server runs on (those of
   * Spring's {@link ReactorResourceFactory}: Reactor Netty's global ones by default), so that a
   * call is sent and answered on the loop that read its request. Closed at shutdown.
   */
  @Bean(destroyMethod = "close")
  ConnectionPools backendConnectionPools(ObjectProvider<ReactorResourceFactory> resources) {
    ReactorResourceFactory factory = resources.getIfAvailable();
    return factory == null ? ConnectionPools.create(MAX_CONNECTIONS_PER_BACKEND)
        : ConnectionPools.create(factory.getLoopResources(), MAX_CONNECTIONS_PER_BACKEND);
  }

  @Bean(destroyMethod = "close")
  LiveCatalog liveCatalog(GatewayOptions options, ConnectionPools backendConnectionPools) {
    LiveCatalog catalog = new LiveCatalog(
        options.configFile().orElse(null),
        config -> Catalog.build(
            ConfigLoader.withUpstreams(config, options.upstreams(), options.upstreamKeys()),
            options.environment(),
            backendConnectionPools.clients()),
        Clock.systemUTC());
    catalog.watch();
    Catalog current = catalog.current();
    if (current.backends().isEmpty() && current.models().isEmpty()
        && options.models().statuses().isEmpty()) {
      log.info("No models configured yet. Add one with --upstream NAME=BASE_URL (then call model"
          + " NAME/<model>), or write a config file and pass --config FILE (see"
          + " docs/configuration.md).");
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
