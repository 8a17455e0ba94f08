package io.modelway.gateway.auth;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.catalog.LiveCatalog;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.scheduler.Schedulers;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Wires tenants' keys into a gateway: the store, the authenticator with its periodic refresh,
 * and the bootstrap admin key.
 */
@Configuration(proxyBeanMethods = false)
public class AuthConfiguration {
  private static final Logger log = LoggerFactory.getLogger(AuthConfiguration.class);

  /** How stale another replica's view of the keys may get (a revocation made elsewhere). */
  public static final Duration REFRESH = Duration.ofSeconds(5);

  /** The name of the {@link #storeRefresher} bean. */
  public static final String STORE_REFRESHER = "storeRefresher";

  /** Created after Flyway has migrated the store. */
  @Bean
  @DependsOnDatabaseInitialization
  ApiKeys apiKeys(DataSource dataSource, PlatformTransactionManager transactions) {
    return new ApiKeys(dataSource, new TransactionTemplate(transactions), Clock.systemUTC());
  }

  @Bean
  Authenticator authenticator(ApiKeys keys, GatewayOptions options, LiveCatalog catalog) {
    Optional<String> envKey = Optional.ofNullable(
        options.environment().apply(SharedSecret.ADMIN_KEY_ENV)).filter(k -> !k.isBlank());
    if (envKey.isEmpty() && options.role() == GatewayOptions.Role.ALL_IN_ONE) {
      keys.bootstrapAdminKey().ifPresent(issued -> announce(issued, System.out));
    } else if (envKey.isEmpty() && !keys.hasPlatformAdminKey()) {
      log.warn("No admin key: set {} to administer this gateway", SharedSecret.ADMIN_KEY_ENV);
    }
    JwtVerifier jwt = new JwtVerifier(
        () -> Optional.ofNullable(catalog.current().config().auth().jwt()),
        task -> Schedulers.boundedElastic().schedule(task), Clock.systemUTC());
    Authenticator authenticator = new Authenticator(keys::byHash, keys::tenantPlans, jwt, envKey,
        Clock.systemUTC());
    authenticator.refresh();
    return authenticator;
  }

  @Bean
  Access access(Authenticator authenticator) {
    return Access.gateway(authenticator);
  }

  @Bean
  RouterFunction<ServerResponse> keysAdminRoutes(ApiKeys keys, Authenticator authenticator,
      PlanOffers offers) {
    return new KeysAdminApi(keys, authenticator, offers, Schedulers.boundedElastic()).routes();
  }

  /**
   * The thread that reloads the in-memory snapshots of the store (keys here, plans in {@code
   * quota}) every few seconds, so changes made through other replicas apply here.
   */
  @Bean(name = STORE_REFRESHER, destroyMethod = "shutdownNow")
  ScheduledExecutorService storeRefresher(Authenticator authenticator) {
    ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "store-refresh");
      t.setDaemon(true);
      return t;
    });
    refresher.scheduleWithFixedDelay(() -> {
      try {
        authenticator.refresh();
      } catch (RuntimeException e) {
        // Fails open to the last snapshot: the store being away must not lock every client out.
        log.warn("Could not reload API keys (keeping the last ones): {}", e.toString());
      }
    }, REFRESH.toMillis(), REFRESH.toMillis(), TimeUnit.MILLISECONDS);
    return refresher;
  }

  private static void announce(ApiKeys.IssuedKey issued, PrintStream out) {
    log.info("Created the bootstrap admin key {} ({}…); it is printed once, on standard output",
        issued.key().id(), issued.key().prefix());
    out.println();
    out.println("  Admin key (shown once, stored only as a hash; set MODELWAY_ADMIN_KEY to use");
    out.println("  your own instead). It works on /v1 and on the admin API /admin/v1:");
    out.println();
    out.println("    " + issued.secret());
    out.println();
    out.flush();
  }
}
