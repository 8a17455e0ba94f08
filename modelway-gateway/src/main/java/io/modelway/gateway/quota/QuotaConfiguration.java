package io.modelway.gateway.quota;

import io.github.bucket4j.TimeMeter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Gauge;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.PlanOffers;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.usage.Prices;
import io.modelway.gateway.usage.UsageLedger;
import io.modelway.gateway.auth.AuthConfiguration;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.scheduler.Schedulers;

/**
 * Wires a gateway's Admit stage: plans in the store, their snapshot, the counters (in the
 * process, or shared through Redis), the admin API.
 */
@Configuration(proxyBeanMethods = false)
public class QuotaConfiguration {
  private static final Logger log = LoggerFactory.getLogger(QuotaConfiguration.class);

  @Bean
  @DependsOnDatabaseInitialization
  Plans plans(DataSource dataSource, PlatformTransactionManager transactions) {
    return new Plans(dataSource, new TransactionTemplate(transactions), Clock.systemUTC());
  }

  @Bean
  LivePlans livePlans(Plans plans) {
    LivePlans live = new LivePlans(plans);
    live.refresh();
    return live;
  }

  @Bean
  Counters rateLimitCounters(GatewayOptions options) {
    return options.redisUrl().isPresent()
        ? Counters.shared(TimeMeter.SYSTEM_MILLISECONDS, options.redisFailOpen())
        : Counters.local(TimeMeter.SYSTEM_MILLISECONDS);
  }

  /** The Redis connection of shared counters, when {@code --redis-url} is given. */
  @Bean(destroyMethod = "close")
  RedisCounters redisCounters(GatewayOptions options, Counters counters) {
    RedisCounters redis = options.redisUrl().map(url -> RedisCounters.at(url, counters))
        .orElseGet(() -> RedisCounters.none(counters));
    redis.tryConnect();
    return redis;
  }

  @Bean
  Admission admission(LivePlans plans, Counters counters, Prices prices, UsageLedger ledger,
      GatewayOptions options, MeterRegistry meters) {
    Gauge.builder("modelway.ratelimit.shared", counters,
            c -> c.isShared() && c.sharedError().isEmpty() ? 1 : 0)
        .description("1 while rate limits are shared through Redis, 0 while counted in this"
            + " gateway alone")
        .register(meters);
    io.micrometer.core.instrument.FunctionCounter.builder("modelway.ratelimit.unshared", counters,
            Counters::unsharedCount)
        .description("Windows counted in this gateway alone (or refused) because Redis could"
            + " not be reached")
        .register(meters);
    return new Admission(plans, counters, prices, ledger::used, options.models()::tokenCounter,
        task -> Schedulers.boundedElastic().schedule(task), Clock.systemUTC(), meters);
  }

  /**
   * {@code rateLimits} in {@code /actuator/health}: always UP (an unreachable Redis degrades
   * limits, it does not stop serving), saying where limits are counted and Redis's error.
   */
  @Bean
  HealthIndicator rateLimitsHealthIndicator(Counters counters, GatewayOptions options) {
    return () -> {
      Health.Builder health = Health.up().withDetail("counters", !counters.isShared() ? "local"
          : counters.sharedError().isEmpty() ? "redis"
          : options.redisFailOpen() ? "local (redis unreachable)" : "refusing (redis unreachable)");
      counters.sharedError().ifPresent(e -> health.withDetail("redisError", e));
      return health.build();
    };
  }

  /** Which plans tenant admins may put their keys on: those offered to their tenant. */
  @Bean
  PlanOffers planOffers(Plans plans) {
    return (plan, tenant) -> plans.offer(plan).map(o -> o.offeredTo(tenant)).orElse(false);
  }

  @Bean
  RouterFunction<ServerResponse> plansAdminRoutes(Plans plans, LivePlans live, Access access) {
    return new PlansAdminApi(plans, live, access.admin(), Schedulers.boundedElastic()).routes();
  }

  /**
   * Reloads the plans (and retries Redis) on the store's refresher thread, so changes made
   * through other replicas apply here within {@link AuthConfiguration#REFRESH}.
   */
  @Bean
  ScheduledFuture<?> planRefresh(LivePlans plans, RedisCounters redis,
      @Qualifier(AuthConfiguration.STORE_REFRESHER) ScheduledExecutorService refresher) {
    long every = AuthConfiguration.REFRESH.toMillis();
    return refresher.scheduleWithFixedDelay(() -> {
      redis.tryConnect();
      try {
        plans.refresh();
      } catch (RuntimeException e) {
        // Keeps the last plans: the store being away must neither lift nor tighten limits.
        log.warn("Could not reload plans (keeping the last ones): {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }
}
