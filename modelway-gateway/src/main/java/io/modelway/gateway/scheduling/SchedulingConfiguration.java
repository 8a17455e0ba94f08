package io.modelway.gateway.scheduling;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.quota.LivePlans;
import io.modelway.gateway.routing.InstancePools;
import java.util.function.Function;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the Schedule stage: the scheduler's queues, drained whenever a call to a pool's instance
 * ends and on the scheduler's own tick, and callers' classes from their plans (standard for
 * all when this role has no plans).
 */
@Configuration(proxyBeanMethods = false)
public class SchedulingConfiguration {

  @Bean(destroyMethod = "close")
  Scheduler scheduler(InstancePools pools, MeterRegistry meters) {
    Scheduler scheduler = new Scheduler(System::nanoTime, meters);
    pools.onSlotFreed(scheduler::slotFreed);
    scheduler.start();
    return scheduler;
  }

  @Bean
  Schedule schedule(Scheduler scheduler, ObjectProvider<LivePlans> plans) {
    LivePlans live = plans.getIfAvailable();
    Function<Principal, Scheduler.Caller> callers = live != null ? live::caller
        : principal -> new Scheduler.Caller(principal.tenantId(), Priority.STANDARD, 1);
    return new Schedule(scheduler, callers);
  }
}
