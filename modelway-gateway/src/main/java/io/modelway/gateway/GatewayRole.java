package io.modelway.gateway;

import io.modelway.gateway.api.ApiConfiguration;
import io.modelway.gateway.api.ModelsConfiguration;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.auth.AuthConfiguration;
import io.modelway.gateway.cache.CacheConfiguration;
import io.modelway.gateway.catalog.AliasesConfiguration;
import io.modelway.gateway.catalog.CatalogConfiguration;
import io.modelway.gateway.quota.QuotaConfiguration;
import io.modelway.gateway.registry.RegistryConfiguration;
import io.modelway.gateway.routing.RoutingConfiguration;
import io.modelway.gateway.scheduling.SchedulingConfiguration;
import io.modelway.gateway.runtime.RuntimeConfiguration;
import io.modelway.gateway.usage.UsageConfiguration;
import io.modelway.gateway.auth.ActuatorAccess;
import java.util.ArrayList;
import java.util.Optional;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.web.server.WebFilter;

/**
 * The server as a Spring Boot application: WebFlux on Reactor Netty, the OpenAI API, the catalog
 * and the actuator endpoints ({@code /actuator/health}, {@code /actuator/prometheus}); plus, by
 * {@link GatewayOptions.Role role}, the registry workers register with and the local models with
 * their admin API. A worker is this same server with only its local models.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration
@Import({CatalogConfiguration.class, RoutingConfiguration.class, SchedulingConfiguration.class,
    ApiConfiguration.class, ModelsConfiguration.class})
public class GatewayRole {

  /** Starts the gateway and returns once it listens. */
  public static ConfigurableApplicationContext start(GatewayOptions options) {
    List<Class<?>> sources = new ArrayList<>(List.of(GatewayRole.class));
    if (options.role().hostsRegistry()) {
      sources.add(RegistryConfiguration.class);
      sources.add(AuthConfiguration.class);
      sources.add(UsageConfiguration.class);
      sources.add(QuotaConfiguration.class);
      sources.add(CacheConfiguration.class);
      sources.add(AliasesConfiguration.class);
    }
    if (options.role() != GatewayOptions.Role.GATEWAY) {
      sources.add(RuntimeConfiguration.class);
    }
    return new SpringApplicationBuilder(sources.toArray(Class<?>[]::new))
        .properties(properties(options))
        .initializers(context -> {
          context.getBeanFactory().registerSingleton("gatewayOptions", options);
          if (options.role() == GatewayOptions.Role.WORKER) {
            context.getBeanFactory().registerSingleton("access", Access.worker(options.environment()));
          }
        })
        .run();
  }

  /**
   * Who sees {@code /actuator} on the API port: health's status for anyone, its details and
   * prometheus for a platform admin's key (prometheus for anyone with {@code
   * MODELWAY_PROMETHEUS=open}). On a separate management port the filter lets everything through.
   */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE + 1)
  WebFilter actuatorAccess(Access access, GatewayOptions options) {
    String prometheus = Optional.ofNullable(options.environment().apply(PROMETHEUS_ENV))
        .orElse("admin");
    if (!prometheus.equals("admin") && !prometheus.equals("open")) {
      throw new IllegalArgumentException(PROMETHEUS_ENV + ": '" + prometheus
          + "' (expected: admin or open)");
    }
    boolean open = prometheus.equals("open") || managementPort(options).isPresent();
    return new ActuatorAccess(access.admin(), open);
  }

  /** {@code admin} (default: a platform admin's key) or {@code open}: who may read metrics. */
  public static final String PROMETHEUS_ENV = "MODELWAY_PROMETHEUS";
  /** A port for {@code /actuator} alone (health with details, prometheus), off the API port. */
  public static final String MANAGEMENT_PORT_ENV = "MODELWAY_MANAGEMENT_PORT";

  private static Optional<Integer> managementPort(GatewayOptions options) {
    String value = options.environment().apply(MANAGEMENT_PORT_ENV);
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    try {
      int port = Integer.parseInt(value.strip());
      if (port >= 0 && port <= 65_535) {
        return Optional.of(port);
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException(MANAGEMENT_PORT_ENV + ": '" + value
        + "' (expected: a port, 0 to 65535)");
  }

  /** The port the gateway of {@code context} listens on. */
  public static int port(ConfigurableApplicationContext context) {
    return Integer.parseInt(context.getEnvironment().getRequiredProperty("local.server.port"));
  }

  private static Map<String, Object> properties(GatewayOptions options) {
    Map<String, Object> p = new HashMap<>();
    p.put("server.address", options.host());
    p.put("server.port", options.port());
    // The drain is api.ShutdownDrain's (readiness 503 while calls finish, up to
    // gateway.server.shutdown-grace); after it the server stops at once, and the event loops close
    // without Reactor Netty's 2 s quiet period, which only delayed the exit: the server is closed
    // and nothing is left for the loops to run.
    p.put("server.shutdown", "immediate");
    p.put("spring.reactor.netty.shutdown-quiet-period", "0s");
    p.put("spring.main.banner-mode", "off");
    // "Starting …" and "Started … in 3 s": the app logs its own summary once it listens.
    p.put("spring.main.log-startup-info", false);
    p.put("spring.jmx.enabled", false);
    p.put("spring.application.name",
        options.role() == GatewayOptions.Role.WORKER ? "modelway-worker" : "modelway-gateway");
    p.put("management.endpoints.web.exposure.include", "health,prometheus,info");
    Optional<Integer> managementPort = managementPort(options);
    if (managementPort.isPresent()) {
      // The actuator moves to its own port, for the operators' network: everything shown there.
      p.put("management.server.port", managementPort.get());
      p.put("management.server.address", options.host());
      p.put("management.endpoint.health.show-details", "always");
    } else {
      // On the API port: status only, details to a platform admin's key (ActuatorAccess).
      p.put("management.endpoint.health.show-details", "when-authorized");
      p.put("management.endpoint.health.roles", ActuatorAccess.ROLE);
    }
    p.put("management.endpoint.health.probes.enabled", true);
    if (options.role() != GatewayOptions.Role.GATEWAY) {
      p.put("management.endpoint.health.group.readiness.include", "readinessState,models");
    }
    p.put("logging.level.io.netty", "warn");
    if (options.role().hostsRegistry()) {
      p.put("spring.datasource.url", options.jdbcUrl());
      p.put("spring.datasource.hikari.maximum-pool-size", 4);
      p.put("spring.datasource.hikari.pool-name", "store");
      // A store that is down is noticed in 5 s rather than Hikari's 30: the ledger spools, the
      // admin API answers 5xx, and health says so, that much sooner.
      p.put("spring.datasource.hikari.connection-timeout", 5_000);
      String user = options.environment().apply("MODELWAY_DATABASE_USER");
      String password = options.environment().apply("MODELWAY_DATABASE_PASSWORD");
      if (user != null) {
        p.put("spring.datasource.username", user);
      }
      if (password != null) {
        p.put("spring.datasource.password", password);
      }
    } else {
      // A worker keeps no store.
      p.put("spring.autoconfigure.exclude",
          "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration,"
              + "org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration");
    }
    return p;
  }
}
