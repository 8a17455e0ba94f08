package io.modelway.gateway.routing;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Smooth weighted round-robin, as nginx's upstream module: each choice adds every candidate's
 * weight to its running score, takes the highest score and subtracts the total weight from it.
 * Over any run of {@code Σweights} calls each candidate gets exactly its weight's share, spread
 * out rather than in bursts (weights 5, 1, 1 give a a b a c a a). Thread-safe (one lock, held
 * for one pass over the candidates).
 */
final class WeightedRoundRobin implements Policy {
  private final Map<String, long[]> scores = new HashMap<>(); // guarded by this

  @Override
  public synchronized Candidate choose(RouteRequest request, List<Candidate> candidates) {
    long total = 0;
    Candidate best = null;
    long[] bestScore = null;
    for (Candidate c : candidates) {
      long[] score = scores.computeIfAbsent(c.id(), id -> new long[1]);
      score[0] += c.weight();
      total += c.weight();
      if (bestScore == null || score[0] > bestScore[0]) {
        best = c;
        bestScore = score;
      }
    }
    bestScore[0] -= total;
    if (scores.size() > candidates.size()) {
      Set<String> ids = new HashSet<>();
      candidates.forEach(c -> ids.add(c.id()));
      scores.keySet().retainAll(ids);
    }
    return best;
  }
}
