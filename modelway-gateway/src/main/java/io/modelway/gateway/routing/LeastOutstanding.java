package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The candidate with the least load ({@link Candidate#load()}: calls in flight from this gateway
 * plus the queue it reported), ties broken at random so that equally loaded instances share the
 * calls. Stateless; thread-safe.
 */
final class LeastOutstanding implements Policy {
  private final RandomGenerator random;

  LeastOutstanding(RandomGenerator random) {
    this.random = requireNonNull(random, "random");
  }

  @Override
  public Candidate choose(RouteRequest request, List<Candidate> candidates) {
    Candidate best = null;
    int bestLoad = Integer.MAX_VALUE;
    int ties = 0;
    for (Candidate c : candidates) {
      int load = c.load();
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
        ties = 1;
      } else if (load == bestLoad && random.nextInt(++ties) == 0) {
        best = c; // reservoir sampling: each of the tied candidates with probability 1/ties
      }
    }
    return best;
  }
}
