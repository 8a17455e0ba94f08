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
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

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

  /** The port the gateway of {@code context} listens on. */
  public static int port(ConfigurableApplicationContext context) {
    return Integer.parseInt(context.getEnvironment().getRequiredProperty("local.server.port"));
  }

  private static Map<String, Object> properties(GatewayOptions options) {
    Map<String, Object> p = new HashMap<>();
    p.put("server.address", options.host());
    p.put("server.port", options.port());
    p.put("server.shutdown", "graceful");
    p.put("spring.main.banner-mode", "off");
    p.put("spring.jmx.enabled", false);
    p.put("spring.application.name",
        options.role() == GatewayOptions.Role.WORKER ? "modelway-worker" : "modelway-gateway");
    p.put("management.endpoints.web.exposure.include", "health,prometheus,info");
    p.put("management.endpoint.health.show-details", "always");
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
