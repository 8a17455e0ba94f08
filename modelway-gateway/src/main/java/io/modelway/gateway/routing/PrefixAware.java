package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Prefix-aware routing: a call goes to the instance that most likely still holds its prompt's
 * prefix in its KV cache, as long as that instance is not much busier than the others.
 *
 * <p>Design. An engine with prefix caching (vLLM's automatic prefix caching, SGLang's radix
 * cache) skips the prefill of every leading block of a prompt it still has cached, so a
 * conversation's next turn, or a request that shares a long system prompt, is much faster where
 * its prefix was sent before. The gateway cannot see the engines' caches and is not told about
 * them; it infers them from its own traffic. Each prompt becomes a chain of block hashes
 * ({@link PromptBlocks}, about 16 tokens a block, each hash covering the prompt up to the end of
 * its block), and for each instance the policy remembers the block hashes it sent there
 * recently, in a bounded LRU set sized like the engine's cache ({@code prefix-cache-tokens}),
 * the tail of a prompt more evictable than its head, as in vLLM. An instance's score is the
 * number of leading blocks of the prompt found in its set: the prefix it probably has cached.
 *
 * <p>Load bound. Affinity alone piles every call that shares a prefix onto one instance (the
 * failure SGLang's router and llm-d guard against with a balance threshold). So only instances
 * whose load ({@link Candidate#load()}) is within {@code slack} of the least loaded one may win:
 * {@code load ≤ min + max(2, ⌈mean / 4⌉)}. Among those the longest match wins, then the lower
 * load, then chance. The spread between the busiest and the idlest instance at the moment of each
 * choice stays within the slack. With a prefix every call shares, every instance soon holds it,
 * matches tie, and the load decides: calls spread evenly.
 *
 * <p>Weak matches. A match counts only when it covers at least {@value #AFFINITY_SHARE} of the
 * prompt's blocks (SGLang's cache threshold); otherwise the call goes to a least loaded instance,
 * the longest match among those first. So a conversation's later turns, most of whose prompt is
 * the history, stay where the history is, while a new conversation that shares only a system
 * prompt goes where there is room, which spreads conversations over every instance rather than
 * over those that happened to get the first ones (an instance without any cached prefix would
 * otherwise stay idle as long as the others are within the slack). With no match anywhere this is
 * least-outstanding routing.
 *
 * <p>References: SGLang's cache-aware load balancer (sgl-router: an approximate radix tree per
 * worker, cache-aware unless the load is imbalanced); vLLM production-stack's prefix-aware
 * routing and llm-d's inference scheduler (prefix-cache scorer over block hashes, balanced with
 * a load scorer); vLLM's block hashing of automatic prefix caching.
 *
 * <p>Thread-safe: one lock, held for one pass over the candidates' sets (a few hash lookups per
 * block of the matched prefix).
 */
final class PrefixAware implements Policy {
  /** Tokens per block that {@code prefix-cache-tokens} is divided by. */
  static final int BLOCK_TOKENS = 16;
  /** The least slack: an instance this much busier than the least loaded may still win. */
  static final int MIN_SLACK = 2;
  /** The slack as a share of the mean load, when that is more than {@link #MIN_SLACK}. */
  static final double SLACK_SHARE = 0.25;
  /** The least share of a prompt's blocks a match must cover to draw the call. */
  static final double AFFINITY_SHARE = 0.5;

  private final int capacityBlocks;
  private final RandomGenerator random;
  private final Map<String, BlockSet> sent = new HashMap<>(); // guarded by this

  /** @param capacityBlocks blocks remembered per instance, {@code >= 1} */
  PrefixAware(int capacityBlocks, RandomGenerator random) {
    if (capacityBlocks < 1) {
      throw new IllegalArgumentException("capacityBlocks: " + capacityBlocks + " (expected: >= 1)");
    }
    this.capacityBlocks = capacityBlocks;
    this.random = requireNonNull(random, "random");
  }

  /** The most load above the least loaded candidate's that still lets a candidate win. */
  static int slack(double meanLoad) {
    return Math.max(MIN_SLACK, (int) Math.ceil(SLACK_SHARE * meanLoad));
  }

  @Override
  public Candidate choose(RouteRequest request, List<Candidate> candidates) {
    long[] blocks = request.prefixBlocks();
    int n = candidates.size();
    int[] loads = new int[n];
    int min = Integer.MAX_VALUE;
    long total = 0;
    for (int i = 0; i < n; i++) {
      loads[i] = candidates.get(i).load();
      min = Math.min(min, loads[i]);
      total += loads[i];
    }
    int bound = min + slack((double) total / n);
    synchronized (this) {
      int[] matches = new int[n];
      for (int i = 0; i < n; i++) {
        BlockSet set = blocks.length == 0 || loads[i] > bound ? null : sent.get(candidates.get(i).id());
        matches[i] = set == null ? 0 : set.matched(blocks);
      }
      int best = best(matches, loads, bound);
      if (matches[best] < AFFINITY_SHARE * blocks.length) {
        best = best(matches, loads, min); // a weak match: a least loaded instance
      }
      Candidate chosen = candidates.get(best);
      if (blocks.length > 0) {
        sent.computeIfAbsent(chosen.id(), id -> new BlockSet(capacityBlocks)).add(blocks);
      }
      if (sent.size() > 2 * n + 8) {
        Set<String> ids = new HashSet<>();
        candidates.forEach(c -> ids.add(c.id()));
        sent.keySet().retainAll(ids);
      }
      return chosen;
    }
  }

  /**
   * The index of the longest match among the candidates loaded at most {@code bound}, then the
   * least loaded, then one at random. Some candidate is loaded at most {@code bound >= min}.
   */
  private int best(int[] matches, int[] loads, int bound) {
    int best = -1;
    int ties = 0;
    for (int i = 0; i < matches.length; i++) {
      if (loads[i] > bound) {
        continue;
      }
      if (best < 0 || matches[i] > matches[best]
          || (matches[i] == matches[best] && loads[i] < loads[best])) {
        best = i;
        ties = 1;
      } else if (matches[i] == matches[best] && loads[i] == loads[best]
          && random.nextInt(++ties) == 0) {
        best = i; // reservoir sampling among the tied
      }
    }
    return best;
  }

  /** How many leading {@code blocks} the policy believes {@code id} holds. For tests. */
  synchronized int matched(String id, long[] blocks) {
    BlockSet set = sent.get(id);
    return set == null ? 0 : set.matched(blocks);
  }

  /**
   * The block hashes sent to one instance, least recently sent first. A prompt's blocks are added
   * last block first, so its first block is the most recent and the tail of a prefix is
   * forgotten before its head, as an engine evicts it. Not thread-safe.
   */
  private static final class BlockSet extends LinkedHashMap<Long, Boolean> {
    private final int capacity;

    BlockSet(int capacity) {
      super(Math.min(capacity, 1024), 0.75f, true);
      this.capacity = capacity;
    }

    int matched(long[] blocks) {
      int n = 0;
      while (n < blocks.length && containsKey(blocks[n])) { // containsKey keeps the order
        n++;
      }
      return n;
    }

    void add(long[] blocks) {
      for (int i = blocks.length - 1; i >= 0; i--) {
        put(blocks[i], Boolean.TRUE);
      }
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
      return size() > capacity;
    }
  }
}
