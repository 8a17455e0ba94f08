package io.modelway.gateway.registry;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.time.Instant;
import java.util.List;

/**
 * A registered worker as the registry last heard of it. Immutable.
 *
 * @param id the worker's own id, stable across its heartbeats
 * @param address the base URL the gateway calls it at ({@code http://host:port})
 * @param models the models it runs, with each one's state
 * @param load what it reported in its last heartbeat
 * @param registeredAt when this lease began
 * @param renewedAt the last heartbeat
 * @param expiresAt when the instance is forgotten unless it heartbeats again
 * @param unreachableUntil until when the gateway skips it because a connection to it failed
 */
public record Instance(String id, URI address, List<ServedModel> models, Load load,
    Instant registeredAt, Instant renewedAt, Instant expiresAt, Instant unreachableUntil) {

  public Instance {
    requireNonNull(id, "id");
    requireNonNull(address, "address");
    models = List.copyOf(requireNonNull(models, "models"));
    requireNonNull(load, "load");
    requireNonNull(registeredAt, "registeredAt");
    requireNonNull(renewedAt, "renewedAt");
    requireNonNull(expiresAt, "expiresAt");
    requireNonNull(unreachableUntil, "unreachableUntil");
  }

  /**
   * A model a worker runs.
   *
   * @param id the model's public name
   * @param state its lifecycle state on the worker: {@code loading}, {@code ready},
   *     {@code failed} or {@code unloading}
   */
  public record ServedModel(String id, String state) {
    public ServedModel {
      requireNonNull(id, "id");
      requireNonNull(state, "state");
    }

    public boolean ready() {
      return state.equals("ready");
    }
  }

  /**
   * A worker's load, as it reports it.
   *
   * @param inFlight calls it is answering
   * @param slots calls its models can work on at once, summed
   * @param freeSlots of those, the ones free
   * @param queued calls waiting for a slot
   * @param tokensPerSecond tokens processed per second since its previous heartbeat
   */
  public record Load(int inFlight, int slots, int freeSlots, int queued, double tokensPerSecond) {
    public static final Load NONE = new Load(0, 0, 0, 0, 0);
  }

  /** How the gateway sees this instance at {@code now}. */
  public Health health(Instant now) {
    if (now.isBefore(unreachableUntil)) {
      return Health.UNREACHABLE;
    }
    return models.stream().anyMatch(m -> m.state().equals("loading")) ? Health.LOADING
        : Health.HEALTHY;
  }

  /** Whether it runs {@code model} and has it ready. */
  public boolean serves(String model) {
    for (ServedModel m : models) {
      if (m.id().equals(model)) {
        return m.ready();
      }
    }
    return false;
  }

  /** Whether it lists {@code model} at all, in any state. */
  public boolean lists(String model) {
    return models.stream().anyMatch(m -> m.id().equals(model));
  }

  /** An instance's health as the gateway sees it. */
  public enum Health {
    /** Heartbeating, reachable, no model loading. */
    HEALTHY,
    /** Heartbeating, but some model is still loading. */
    LOADING,
    /** A call to it could not connect; skipped for a short while. */
    UNREACHABLE;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
