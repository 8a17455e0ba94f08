package io.modelway.gateway.registry;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.auth.SharedSecret;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/** Wires the registry of a gateway: the lease store, its sweeper and its API. */
@Configuration(proxyBeanMethods = false)
public class RegistryConfiguration {
  private static final Logger log = LoggerFactory.getLogger(RegistryConfiguration.class);

  @Bean
  Registry registry(GatewayOptions options) {
    return new InMemoryRegistry(options.leaseTtl(), Clock.systemUTC());
  }

  /** Forgets expired instances every second, so they leave the listings and the logs say so. */
  @Bean(destroyMethod = "shutdownNow")
  ScheduledExecutorService registrySweeper(Registry registry) {
    ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "registry-sweeper");
      t.setDaemon(true);
      return t;
    });
    sweeper.scheduleWithFixedDelay(registry::expire, 1, 1, TimeUnit.SECONDS);
    return sweeper;
  }

  @Bean
  RouterFunction<ServerResponse> registryRoutes(Registry registry, GatewayOptions options,
      Access access) {
    SharedSecret cluster = SharedSecret.fromEnvironment(options.environment(),
        SharedSecret.CLUSTER_SECRET_ENV, "worker registration");
    if (cluster.isSet()) {
      log.info("Workers may register (lease {} s)", options.leaseTtl().toSeconds());
    } else {
      log.info("Worker registration is off: set {} on the gateway and its workers to turn it on",
          SharedSecret.CLUSTER_SECRET_ENV);
    }
    return new RegistryApi(registry, cluster, access.admin(), Clock.systemUTC()).routes();
  }
}
