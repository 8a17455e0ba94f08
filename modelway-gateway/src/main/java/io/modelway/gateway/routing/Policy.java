package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.ModelwayConfig;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A load-balancing policy: which of a pool's instances takes a call. The pool hands it only the
 * instances that may take calls now (healthy, breaker closed, weight above 0), never an empty
 * list. A policy may remember its choices (a round-robin position, the prompts it sent where);
 * it never blocks. Implementations are thread-safe.
 */
public interface Policy {

  /**
   * Chooses one of {@code candidates} for {@code request}.
   *
   * @param candidates not empty, ids distinct, in a stable order (configured backends in config
   *     order, then workers by id)
   */
  Candidate choose(RouteRequest request, List<Candidate> candidates);

  /**
   * The policy {@code routing} names.
   *
   * @param random the source of random choices, thread-safe: each thread's
   *     {@code ThreadLocalRandom} in production, a seeded generator in tests
   */
  static Policy create(ModelwayConfig.Routing routing, RandomGenerator random) {
    requireNonNull(routing, "routing");
    requireNonNull(random, "random");
    return switch (routing.policy()) {
      case ROUND_ROBIN -> new RoundRobin();
      case WEIGHTED -> new WeightedRoundRobin();
      case LEAST_OUTSTANDING -> new LeastOutstanding(random);
      case P2C_EWMA -> new PowerOfTwoChoices(random);
      case CONSISTENT_HASH -> new ConsistentHash(new LeastOutstanding(random));
      case PREFIX_AWARE -> new PrefixAware(
          Math.max(1, routing.prefixCacheTokens() / PrefixAware.BLOCK_TOKENS), random);
    };
  }
}
