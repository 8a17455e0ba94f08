package io.modelway.gateway.usage;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Authenticator;
import java.time.Clock;
import java.time.Duration;
import javax.sql.DataSource;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.scheduler.Schedulers;

/** Wires the usage ledger of a gateway: spool, mover, accounting, health and admin API. */
@Configuration(proxyBeanMethods = false)
public class UsageConfiguration {
  /** How often spooled records are moved into the store. */
  static final Duration MOVE_EVERY = Duration.ofMillis(500);

  @Bean(destroyMethod = "close")
  UsageSpool usageSpool(GatewayOptions options) {
    return new UsageSpool(options.dataDir().resolve("spool"), false);
  }

  @Bean(destroyMethod = "close")
  @DependsOnDatabaseInitialization
  UsageLedger usageLedger(UsageSpool spool, DataSource dataSource) {
    UsageLedger ledger = new UsageLedger(spool, dataSource);
    ledger.start(MOVE_EVERY);
    return ledger;
  }

  @Bean
  Accounting accounting(UsageSpool spool) {
    return Accounting.into(spool, Clock.systemUTC());
  }

  /**
   * {@code ledger} in {@code /actuator/health}: always UP (a store outage does not stop serving:
   * records wait in the spool), with the bytes waiting and the store's error while it lasts.
   */
  @Bean
  HealthIndicator ledgerHealthIndicator(UsageLedger ledger) {
    return () -> {
      Health.Builder health = Health.up().withDetail("spooledBytes", ledger.pendingBytes());
      ledger.lastError().ifPresent(e -> health.withDetail("storeError", e));
      return health.build();
    };
  }

  @Bean
  RouterFunction<ServerResponse> usageAdminRoutes(UsageLedger ledger, Authenticator authenticator) {
    return new UsageAdminApi(ledger, authenticator, Schedulers.boundedElastic()).routes();
  }
}
