package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

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
}
