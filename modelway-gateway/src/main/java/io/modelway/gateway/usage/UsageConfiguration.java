package io.modelway.gateway.usage;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.AuthConfiguration;
import io.modelway.gateway.auth.Authenticator;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
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
  private static final Logger log = LoggerFactory.getLogger(UsageConfiguration.class);
  /** How often spooled records are moved into the store. */
  static final Duration MOVE_EVERY = Duration.ofMillis(500);

  @Bean(destroyMethod = "close")
  UsageSpool usageSpool(GatewayOptions options) {
    return new UsageSpool(options.dataDir().resolve("spool"), false);
  }

  /**
   * The ledger's own SQLite file ({@code db/usage.sqlite} in the data dir) in embedded mode,
   * beside the H2 store that keeps everything else; none with a database URL, which then holds
   * the ledger too.
   */
  private static Optional<Path> ledgerFile(GatewayOptions options) {
    return options.databaseUrl().isPresent() ? Optional.empty()
        : Optional.of(options.dataDir().resolve("db").resolve("usage.sqlite"));
  }

  @Bean(destroyMethod = "close")
  @DependsOnDatabaseInitialization
  LedgerStore ledgerStore(GatewayOptions options, DataSource dataSource) {
    return ledgerFile(options).map(LedgerStore::sqlite)
        .orElseGet(() -> LedgerStore.shared(dataSource));
  }

  @Bean(destroyMethod = "close")
  @DependsOnDatabaseInitialization
  UsageLedger usageLedger(UsageSpool spool, LedgerStore store, GatewayOptions options,
      DataSource dataSource) {
    UsageLedger ledger = new UsageLedger(spool, store);
    ledgerFile(options).ifPresent(file -> {
      // Rows an earlier version kept in the H2 store move to the ledger's own file, once.
      long moved = ledger.adopt(LedgerStore.shared(dataSource));
      if (moved > 0) {
        log.info("Moved {} usage records from the H2 store to {}", moved, file);
      }
    });
    ledger.start(MOVE_EVERY);
    return ledger;
  }

  @Bean
  @DependsOnDatabaseInitialization
  Prices prices(DataSource dataSource, PlatformTransactionManager transactions,
      @Qualifier(AuthConfiguration.STORE_REFRESHER) ScheduledExecutorService refresher) {
    Prices prices = new Prices(dataSource, new TransactionTemplate(transactions),
        Clock.systemUTC());
    prices.refresh();
    long every = AuthConfiguration.REFRESH.toMillis();
    refresher.scheduleWithFixedDelay(() -> {
      try {
        prices.refresh();
      } catch (RuntimeException e) {
        log.warn("Could not reload prices (keeping the last ones): {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
    return prices;
  }

  @Bean
  Accounting accounting(UsageSpool spool, Prices prices) {
    return Accounting.into(spool, prices, Clock.systemUTC());
  }

  @Bean
  RouterFunction<ServerResponse> pricesAdminRoutes(Prices prices, Authenticator authenticator) {
    return new PricesAdminApi(prices, authenticator, Schedulers.boundedElastic()).routes();
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
