package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Consistent hashing of a session key on a ring with virtual nodes (Karger et al., 1997; the
 * ketama layout): each candidate owns {@value #VIRTUAL_NODES} points per unit of weight, placed
 * by hashing {@code id#i}; a key goes to the owner of the first point at or after its own hash.
 * So a session's calls stay on one instance, and when an instance joins or leaves only the keys
 * of its own arcs move. A call without a session key goes to {@code fallback}.
 *
 * <p>The ring is rebuilt when the set of candidates or their weights change, and kept in an
 * {@link AtomicReference} otherwise; a lookup is a binary search. Thread-safe.
 */
final class ConsistentHash implements Policy {
  /** Points per unit of weight: enough that each instance's share is within a few percent. */
  static final int VIRTUAL_NODES = 160;

  private final Policy fallback;
  private final AtomicReference<Ring> ring = new AtomicReference<>();

  ConsistentHash(Policy fallback) {
    this.fallback = requireNonNull(fallback, "fallback");
  }

  @Override
  public Candidate choose(RouteRequest request, List<Candidate> candidates) {
    Optional<String> key = request.sessionKey();
    if (key.isEmpty()) {
      return fallback.choose(request, candidates);
    }
    Ring current = ring.get();
    if (current == null || !current.builtFor(candidates)) {
      current = Ring.of(candidates);
      ring.set(current);
    }
    String owner = current.owner(PromptBlocks.hash(key.get()));
    for (Candidate c : candidates) {
      if (c.id().equals(owner)) {
        return c;
      }
    }
    throw new IllegalStateException("ring owner " + owner + " is not a candidate");
  }

  /** Points sorted by hash, each with its owner's id. Immutable. */
  private record Ring(String[] ids, int[] weights, long[] points, String[] owners) {

    static Ring of(List<Candidate> candidates) {
      int n = candidates.size();
      String[] ids = new String[n];
      int[] weights = new int[n];
      int total = 0;
      for (int i = 0; i < n; i++) {
        ids[i] = candidates.get(i).id();
        weights[i] = candidates.get(i).weight();
        total += weights[i] * VIRTUAL_NODES;
      }
      long[][] entries = new long[total][];
      int k = 0;
      for (int i = 0; i < n; i++) {
        for (int v = 0; v < weights[i] * VIRTUAL_NODES; v++) {
          entries[k++] = new long[] {PromptBlocks.hash(ids[i] + "#" + v), i};
        }
      }
      Arrays.sort(entries, (x, y) -> Long.compare(x[0], y[0]));
      long[] points = new long[total];
      String[] owners = new String[total];
      for (int j = 0; j < total; j++) {
        points[j] = entries[j][0];
        owners[j] = ids[(int) entries[j][1]];
      }
      return new Ring(ids, weights, points, owners);
    }

    boolean builtFor(List<Candidate> candidates) {
      if (candidates.size() != ids.length) {
        return false;
      }
      for (int i = 0; i < ids.length; i++) {
        Candidate c = candidates.get(i);
        if (!c.id().equals(ids[i]) || c.weight() != weights[i]) {
          return false;
        }
      }
      return true;
    }

    String owner(long hash) {
      int at = Arrays.binarySearch(points, hash);
      if (at < 0) {
        at = -at - 1;
      }
      return owners[at == points.length ? 0 : at];
    }
  }
}
