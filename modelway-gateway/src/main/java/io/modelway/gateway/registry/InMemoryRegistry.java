package io.modelway.gateway.registry;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry of one gateway process (all-in-one mode and single-gateway deployments): leases
 * are timestamps checked against the injected clock, so tests move time instead of sleeping.
 */
public final class InMemoryRegistry implements Registry {
  private static final Logger log = LoggerFactory.getLogger(InMemoryRegistry.class);

  /** The longest a failed connection keeps an instance out of rotation. */
  static final Duration MAX_EJECTION = Duration.ofSeconds(5);

  private final Duration leaseTtl;
  private final Clock clock;
  private final Map<String, Instance> instances = new ConcurrentHashMap<>();
  private final List<Consumer<Instance>> removedListeners = new CopyOnWriteArrayList<>();

  public InMemoryRegistry(Duration leaseTtl, Clock clock) {
    this.leaseTtl = requireNonNull(leaseTtl, "leaseTtl");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public Instance renew(Registration r) {
    requireNonNull(r, "registration");
    Instant now = clock.instant();
    Instance renewed = instances.compute(r.id(), (id, old) -> {
      boolean fresh = old == null || !old.expiresAt().isAfter(now) || !old.address().equals(r.address());
      return new Instance(id, r.address(), r.models(), r.load(),
          fresh ? now : old.registeredAt(), now, now.plus(leaseTtl),
          fresh ? Instant.EPOCH : old.unreachableUntil());
    });
    if (renewed.registeredAt().equals(now)) {
      log.info("Worker {} registered at {} with models {}", renewed.id(), renewed.address(),
          renewed.models().stream().map(m -> m.id() + " (" + m.state() + ")").toList());
    }
    return renewed;
  }

  @Override
  public boolean remove(String id) {
    Instance removed = instances.remove(requireNonNull(id, "id"));
    if (removed == null) {
      return false;
    }
    log.info("Worker {} at {} deregistered", id, removed.address());
    removedListeners.forEach(listener -> listener.accept(removed));
    return true;
  }

  @Override
  public List<Instance> instances() {
    Instant now = clock.instant();
    List<Instance> live = new ArrayList<>();
    for (Instance instance : instances.values()) {
      if (instance.expiresAt().isAfter(now)) {
        live.add(instance);
      }
    }
    live.sort(Comparator.comparing(Instance::id));
    return live;
  }

  @Override
  public List<Instance> serving(String model) {
    Instant now = clock.instant();
    List<Instance> serving = new ArrayList<>(2);
    for (Instance instance : instances.values()) {
      if (instance.expiresAt().isAfter(now) && !now.isBefore(instance.unreachableUntil())
          && instance.serves(model)) {
        serving.add(instance);
      }
    }
    return serving;
  }

  @Override
  public void markUnreachable(String id) {
    Instant until = clock.instant().plus(ejection());
    Instance marked = instances.computeIfPresent(id, (key, old) -> new Instance(key, old.address(),
        old.models(), old.load(), old.registeredAt(), old.renewedAt(), old.expiresAt(), until));
    if (marked != null) {
      log.warn("Worker {} at {} is unreachable; skipped until {}", id, marked.address(), until);
    }
  }

  private Duration ejection() {
    Duration half = leaseTtl.dividedBy(2);
    return half.compareTo(MAX_EJECTION) < 0 ? half : MAX_EJECTION;
  }

  @Override
  public List<Instance> expire() {
    Instant now = clock.instant();
    List<Instance> expired = new ArrayList<>();
    for (Instance instance : instances.values()) {
      if (!instance.expiresAt().isAfter(now) && instances.remove(instance.id(), instance)) {
        expired.add(instance);
        log.warn("Worker {} at {} expired: no heartbeat for {} s", instance.id(),
            instance.address(), leaseTtl.toSeconds());
        removedListeners.forEach(listener -> listener.accept(instance));
      }
    }
    return expired;
  }

  @Override
  public Duration leaseTtl() {
    return leaseTtl;
  }

  @Override
  public void onRemoved(Consumer<Instance> listener) {
    removedListeners.add(requireNonNull(listener, "listener"));
  }
}
