package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.scheduling.Priority;
import io.modelway.gateway.scheduling.Scheduler;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Every plan by id, as the request path reads them: an in-memory snapshot of the store, reloaded
 * at once after a change made through this process and periodically for changes made through
 * other replicas. Thread-safe.
 */
public final class LivePlans implements Supplier<Map<String, Plan>> {
  private final Plans store;
  private volatile Map<String, Plan> byId = Map.of();

  public LivePlans(Plans store) {
    this.store = requireNonNull(store, "store");
  }

  /** Reloads the snapshot; blocking. */
  public void refresh() {
    byId = Map.copyOf(store.byId());
  }

  @Override
  public Map<String, Plan> get() {
    return byId;
  }

  /**
   * How {@code principal}'s calls wait in a model's queue: in the lower class of its tenant's
   * plan and its key's own plan (standard without either), counted as its tenant with the
   * tenant plan's weight (else the key plan's, else 1).
   */
  public Scheduler.Caller caller(Principal principal) {
    Map<String, Plan> plans = byId;
    Plan tenant = principal.tenantPlan().map(plans::get).orElse(null);
    Plan key = principal.plan().map(plans::get).orElse(null);
    Priority priority = tenant != null ? tenant.priority() : Priority.STANDARD;
    if (key != null) {
      priority = tenant != null ? priority.atMost(key.priority()) : key.priority();
    }
    int weight = tenant != null ? tenant.weight() : key != null ? key.weight() : 1;
    return new Scheduler.Caller(principal.tenantId(), priority, weight);
  }
}
