package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Picks an alias's target for one call: by weight, at random, or — for sticky aliases — by a
 * hash of the caller's key or session, so that one caller keeps landing on one target.
 *
 * <p>Design note. The targets' weights lay out consecutive ranges of [0, 1) in their listed
 * order; a call takes the target whose range holds its point. A non-sticky call's point is
 * random (as Envoy's weighted clusters and Portkey's load balancer draw); a sticky call's point
 * is a hash of the alias name and the caller's key or session, so it is the same on every call
 * and on every gateway replica, with no state. When the weights change (a canary going from 10 %
 * to 20 %), the ranges' bounds move and only the callers whose points lie between the old and the
 * new bound change target — the least movement any split can have — and a caller that moved
 * stays moved until the weights change again. Stateless and thread-safe.
 */
public final class TrafficSplit {
  private static final double UNIT = 0x1.0p-53;

  private TrafficSplit() {}

  /**
   * The target of a call to {@code alias}: by {@code stickyKey}'s hash when given, else by
   * {@code random} (uniform in [0, 1)).
   */
  public static ModelwayConfig.Target choose(ModelwayConfig.Alias alias,
      @Nullable String stickyKey, double random) {
    requireNonNull(alias, "alias");
    double point = stickyKey == null ? random : point(alias.name(), stickyKey);
    return at(alias.targets(), point);
  }

  /** The target whose weight range holds {@code point} (0 ≤ point &lt; 1). */
  static ModelwayConfig.Target at(List<ModelwayConfig.Target> targets, double point) {
    if (targets.size() == 1) {
      return targets.get(0);
    }
    long total = 0;
    for (ModelwayConfig.Target t : targets) {
      total += t.weight();
    }
    double bound = point * total;
    long upTo = 0;
    ModelwayConfig.Target last = targets.get(0);
    for (ModelwayConfig.Target t : targets) {
      if (t.weight() == 0) {
        continue;
      }
      upTo += t.weight();
      last = t;
      if (bound < upTo) {
        return t;
      }
    }
    return last; // rounding at the very top
  }

  /** A point in [0, 1) that {@code key} always hashes to for {@code alias}. */
  static double point(String alias, String key) {
    long h = 0xcbf29ce484222325L; // FNV-1a, 64 bits
    for (byte b : (alias + '\0' + key).getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    // MurmurHash3's finalizer spreads keys that differ in their last characters.
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return (h >>> 11) * UNIT;
  }
}
