package io.modelway.gateway.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.AuthConfiguration;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.quota.LivePlans;
import io.modelway.gateway.quota.Plan;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.routing.ModelRouter;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.scheduler.Schedulers;

/**
 * Wires a gateway's Cache stage: entries in this process, or in Redis when {@code --redis-url}
 * is given (the same Redis as shared rate limits); tenants' namespaces from the store; the admin
 * API; {@code cache} in {@code /actuator/health}.
 */
@Configuration(proxyBeanMethods = false)
public class CacheConfiguration {
  private static final Logger log = LoggerFactory.getLogger(CacheConfiguration.class);

  @Bean(destroyMethod = "close")
  ResponseCache responseCache(GatewayOptions options, MeterRegistry meters) {
    LocalResponseCache local = new LocalResponseCache(Ticker.systemTicker());
    if (options.redisUrl().isEmpty()) {
      return local;
    }
    SharedResponseCache shared = SharedResponseCache.at(options.redisUrl().get(), local);
    shared.tryConnect();
    FunctionCounter.builder("modelway.cache.redis.failures", shared, SharedResponseCache::failures)
        .description("Response cache commands Redis failed, answered from this gateway instead")
        .register(meters);
    return shared;
  }

  @Bean
  @DependsOnDatabaseInitialization
  Namespaces cacheNamespaces(DataSource dataSource, PlatformTransactionManager transactions) {
    Namespaces namespaces =
        new Namespaces(dataSource, new TransactionTemplate(transactions), Clock.systemUTC());
    namespaces.refresh();
    return namespaces;
  }

  @Bean(destroyMethod = "close")
  SemanticCache semanticCache(LiveCatalog catalog, ModelRouter router, MeterRegistry meters) {
    SemanticCache.warmUp();
    SemanticCache semantic = new SemanticCache(new RouterEmbedder(catalog, router));
    Gauge.builder("modelway.cache.semantic.entries", semantic, SemanticCache::size)
        .description("Questions in this gateway's semantic cache index")
        .register(meters);
    return semantic;
  }

  /** With {@code --redis-url}: every replica's semantic index kept in step through Redis. */
  @Bean(destroyMethod = "close")
  AutoCloseable semanticSync(GatewayOptions options, SemanticCache semantic) {
    return options.redisUrl().<AutoCloseable>map(url -> SemanticSync.start(url, semantic))
        .orElse(() -> { });
  }

  /**
   * The Cache stage. The cache policy of a caller is its tenant's plan's, narrowed by its key's
   * plan ({@link CachePolicy#narrowedBy}).
   */
  @Bean
  CacheStage cacheStage(ResponseCache store, SemanticCache semantic, Namespaces namespaces,
      LivePlans plans, MeterRegistry meters) {
    Function<Principal, CachePolicy> policies =
        principal -> Plan.cachePolicy(principal, plans.get());
    return new CacheStage(store, Optional.of(semantic), namespaces, policies, Clock.systemUTC(),
        meters);
  }

  @Bean
  RouterFunction<ServerResponse> cacheAdminRoutes(CacheStage cache, Namespaces namespaces,
      DataSource dataSource, Access access) {
    return new CacheAdminApi(cache, namespaces, new AuditLog(dataSource, Clock.systemUTC()),
        access.admin(), Schedulers.boundedElastic()).routes();
  }

  /** {@code cache} in {@code /actuator/health}: always UP, saying where entries live. */
  @Bean
  HealthIndicator cacheHealthIndicator(ResponseCache store) {
    return () -> {
      Health.Builder health = Health.up().withDetail("mode", store.mode())
          .withDetail("bytesHeld", store.bytesHeld());
      if (store instanceof SharedResponseCache shared) {
        shared.error().ifPresent(e -> health.withDetail("redisError", e));
      }
      return health.build();
    };
  }

  /**
   * Reloads the namespaces (and retries Redis until first connected) on the store's refresher
   * thread, so changes made through other replicas apply here within {@link
   * AuthConfiguration#REFRESH}.
   */
  @Bean
  ScheduledFuture<?> cacheRefresh(Namespaces namespaces, ResponseCache store,
      @Qualifier(AuthConfiguration.STORE_REFRESHER) ScheduledExecutorService refresher) {
    long every = AuthConfiguration.REFRESH.toMillis();
    return refresher.scheduleWithFixedDelay(() -> {
      if (store instanceof SharedResponseCache shared) {
        shared.tryConnect();
      }
      try {
        namespaces.refresh();
      } catch (RuntimeException e) {
        log.warn("Could not reload cache namespaces (keeping the last ones): {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }
}
