package io.modelway.gateway.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.backend.ConnectionPools;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.SharedSecret;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.registry.Registry;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the instance pools: their members' health, the prober thread and the policies. */
@Configuration(proxyBeanMethods = false)
public class RoutingConfiguration {

  @Bean(destroyMethod = "close")
  InstancePools instancePools(LiveCatalog catalog, ObjectProvider<Registry> registry,
      ConnectionPools backendConnectionPools, GatewayOptions options, MeterRegistry meters) {
    InstancePools pools = new InstancePools(catalog::current,
        Optional.ofNullable(registry.getIfAvailable()), backendConnectionPools.clients(),
        SharedSecret.fromEnvironment(options.environment(), SharedSecret.CLUSTER_SECRET_ENV,
            "worker registration").value(),
        Clock.systemUTC(), System::nanoTime, THREAD_LOCAL_RANDOM, meters);
    pools.start();
    return pools;
  }

  /**
   * Each call on the calling thread's {@link ThreadLocalRandom}: the instance {@code current()}
   * returns must not be shared between threads (a thread that never called {@code current()}
   * would start from an unseeded state).
   */
  private static final RandomGenerator THREAD_LOCAL_RANDOM = new RandomGenerator() {
    @Override
    public long nextLong() {
      return ThreadLocalRandom.current().nextLong();
    }

    @Override
    public int nextInt(int bound) {
      return ThreadLocalRandom.current().nextInt(bound);
    }

    @Override
    public double nextDouble() {
      return ThreadLocalRandom.current().nextDouble();
    }
  };
}
