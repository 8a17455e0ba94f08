package io.modelway.gateway.registry;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * The workers the gateway knows, each under a lease that a heartbeat renews. An instance whose
 * lease ran out is no longer returned, whether or not it was swept yet. Implementations are
 * thread-safe.
 */
public interface Registry {

  /**
   * What a worker says of itself when it registers or heartbeats.
   *
   * @param id its stable id
   * @param address where the gateway reaches it
   */
  record Registration(String id, URI address, List<Instance.ServedModel> models, Instance.Load load) {}

  /** Registers {@code registration}'s instance, or renews its lease; returns it as stored. */
  Instance renew(Registration registration);

  /** Forgets an instance at once (a worker shutting down); whether it was known. */
  boolean remove(String id);

  /** The instances whose lease is current, by id. */
  List<Instance> instances();

  /** The live, reachable instances that have {@code model} ready. */
  List<Instance> serving(String model);

  /** Skips {@code id} for a short while: a connection to it just failed. */
  void markUnreachable(String id);

  /** Forgets every instance whose lease ran out; returns them. */
  List<Instance> expire();

  /** How long a lease lasts without a heartbeat. */
  Duration leaseTtl();

  /** Calls {@code listener} with each instance that is removed or expires. */
  void onRemoved(Consumer<Instance> listener);
}
