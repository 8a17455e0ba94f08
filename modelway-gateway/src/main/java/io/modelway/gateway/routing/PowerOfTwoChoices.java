package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.OptionalDouble;
import java.util.random.RandomGenerator;

/**
 * Power of two choices over in-flight calls and latency: two distinct candidates at random, and
 * the one with the lower cost {@code latency × (load + 1)} takes the call (Mitzenmacher, "The
 * Power of Two Choices in Randomized Load Balancing", 2001; the cost is that of Finagle's and
 * Linkerd's EWMA balancers). {@code latency} is the candidate's moving average of time to first
 * byte ({@link InstanceStats}); while either of the two has no sample yet, the lower load wins.
 * Random pairs keep calls off the single least-loaded instance that every gateway replica would
 * pile onto with stale numbers, and the most loaded instance never wins a pair. Stateless;
 * thread-safe.
 */
final class PowerOfTwoChoices implements Policy {
  private final RandomGenerator random;

  PowerOfTwoChoices(RandomGenerator random) {
    this.random = requireNonNull(random, "random");
  }

  @Override
  public Candidate choose(RouteRequest request, List<Candidate> candidates) {
    int n = candidates.size();
    if (n == 1) {
      return candidates.get(0);
    }
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    Candidate first = candidates.get(a);
    Candidate second = candidates.get(b);
    OptionalDouble firstLatency = first.stats().latencyNanos();
    OptionalDouble secondLatency = second.stats().latencyNanos();
    if (firstLatency.isPresent() && secondLatency.isPresent()) {
      double firstCost = firstLatency.getAsDouble() * (first.load() + 1);
      double secondCost = secondLatency.getAsDouble() * (second.load() + 1);
      if (firstCost != secondCost) {
        return firstCost < secondCost ? first : second;
      }
    }
    return first.load() <= second.load() ? first : second;
  }
}
