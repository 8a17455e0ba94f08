package io.modelway.gateway;

import io.modelway.gateway.api.ApiConfiguration;
import io.modelway.gateway.catalog.CatalogConfiguration;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/**
 * The gateway role as a Spring Boot application: WebFlux on Reactor Netty, the OpenAI API, the
 * catalog and the actuator endpoints ({@code /actuator/health}, {@code /actuator/prometheus}).
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration
@Import({CatalogConfiguration.class, ApiConfiguration.class})
public class GatewayRole {

  /** Starts the gateway and returns once it listens. */
  public static ConfigurableApplicationContext start(GatewayOptions options) {
    return new SpringApplicationBuilder(GatewayRole.class)
        .properties(properties(options))
        .initializers(context -> context.getBeanFactory().registerSingleton("gatewayOptions", options))
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
    p.put("spring.application.name", "modelway-gateway");
    p.put("management.endpoints.web.exposure.include", "health,prometheus,info");
    p.put("management.endpoint.health.show-details", "always");
    p.put("management.endpoint.health.probes.enabled", true);
    p.put("logging.level.io.netty", "warn");
    return p;
  }
}
