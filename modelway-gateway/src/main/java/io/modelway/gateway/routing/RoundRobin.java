package io.modelway.gateway.routing;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Each candidate in turn, in the order given. Thread-safe (one atomic counter). */
final class RoundRobin implements Policy {
  private final AtomicInteger next = new AtomicInteger();

  @Override
  public Candidate choose(RouteRequest request, List<Candidate> candidates) {
    return candidates.get(Math.floorMod(next.getAndIncrement(), candidates.size()));
  }
}
