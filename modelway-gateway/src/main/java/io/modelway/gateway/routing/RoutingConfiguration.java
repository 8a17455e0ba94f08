package io.modelway.gateway.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.SharedSecret;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.registry.Registry;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.netty.http.client.HttpClient;

/** Wires the instance pools: their members' health, the prober thread and the policies. */
@Configuration(proxyBeanMethods = false)
public class RoutingConfiguration {

  @Bean(destroyMethod = "close")
  InstancePools instancePools(LiveCatalog catalog, ObjectProvider<Registry> registry,
      HttpClient backendHttpClient, GatewayOptions options, MeterRegistry meters) {
    InstancePools pools = new InstancePools(catalog::current,
        Optional.ofNullable(registry.getIfAvailable()), backendHttpClient,
        SharedSecret.fromEnvironment(options.environment(), SharedSecret.CLUSTER_SECRET_ENV,
            "worker registration").value(),
        Clock.systemUTC(), System::nanoTime, ThreadLocalRandom.current(), meters);
    pools.start();
    return pools;
  }
}
