package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

/**
 * One instance a {@link Policy} may choose for a call, with its live stats.
 *
 * @param id stable across calls and unique within a pool: policies key their state by it
 * @param weight its share relative to the others in this pool, {@code >= 1}
 * @param queued calls the instance itself reported waiting (a worker's heartbeat), 0 if unknown
 * @param stats this gateway's calls to it
 */
public record Candidate(String id, int weight, int queued, InstanceStats stats) {
  public Candidate {
    requireNonNull(id, "id");
    requireNonNull(stats, "stats");
    if (weight < 1) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: >= 1)");
    }
    if (queued < 0) {
      throw new IllegalArgumentException("queued: " + queued + " (expected: >= 0)");
    }
  }

  /** Its load as the gateway sees it: calls in flight from here plus the queue it reported. */
  public int load() {
    return stats.inFlight() + queued;
  }
}
