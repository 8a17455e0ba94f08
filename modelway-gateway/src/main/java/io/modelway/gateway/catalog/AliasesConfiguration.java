package io.modelway.gateway.catalog;

import io.modelway.gateway.auth.Access;
import io.modelway.gateway.auth.AuthConfiguration;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.openai.OpenAiException;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.scheduler.Schedulers;

/**
 * Wires the aliases set at runtime, on the roles that keep a store: their table, the admin API,
 * and the refresh that brings changes made through other replicas into this gateway's
 * {@link LiveAliases}.
 */
@Configuration(proxyBeanMethods = false)
public class AliasesConfiguration {
  private static final Logger log = LoggerFactory.getLogger(AliasesConfiguration.class);

  @Bean
  @DependsOnDatabaseInitialization
  AliasOverrides aliasOverrides(DataSource dataSource, PlatformTransactionManager transactions,
      LiveAliases live) {
    AliasOverrides store = new AliasOverrides(dataSource, new TransactionTemplate(transactions),
        Clock.systemUTC());
    live.replace(store.all());
    return store;
  }

  @Bean
  RouterFunction<ServerResponse> aliasesAdminRoutes(AliasOverrides store, LiveAliases live,
      LiveCatalog catalog, ModelRouter router, Access access) {
    return new AliasesAdminApi(store, live, catalog::current, model -> {
      try {
        return router.resolve(catalog.current(), model).isPresent() ? Optional.empty()
            : Optional.of("no such model");
      } catch (OpenAiException e) {
        return Optional.of(e.getMessage());
      }
    }, access.admin(), Schedulers.boundedElastic()).routes();
  }

  /**
   * Reloads the overrides on the store's refresher thread, so changes made through other
   * replicas apply here within {@link AuthConfiguration#REFRESH}.
   */
  @Bean
  ScheduledFuture<?> aliasRefresh(AliasOverrides store, LiveAliases live,
      @Qualifier(AuthConfiguration.STORE_REFRESHER) ScheduledExecutorService refresher) {
    long every = AuthConfiguration.REFRESH.toMillis();
    return refresher.scheduleWithFixedDelay(() -> {
      try {
        live.replace(store.all());
      } catch (RuntimeException e) {
        // Keeps the last overrides: the store being away must not switch traffic back.
        log.warn("Could not reload alias overrides (keeping the last ones): {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }
}
