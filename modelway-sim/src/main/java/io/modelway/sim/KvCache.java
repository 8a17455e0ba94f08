package io.modelway.sim;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The KV cache of one simulated engine: a fixed number of blocks of {@value #BLOCK_TOKENS}
 * tokens, each full prompt block named by a chained hash of every token up to its end, so that a
 * block is shared only by prompts that agree up to there.
 *
 * <p>Design, after vLLM's automatic prefix caching (its v1 {@code KVCacheManager}): a block is
 * <em>used</em> while at least one running sequence holds it. A hashed block that no sequence holds
 * stays cached, evictable, in a least-recently-released queue; allocation takes never-used blocks
 * first, then evicts from the head of that queue. A sequence releases its blocks last-first, so
 * the tail of a prefix is evicted before its head. Blocks past a prompt's last full block (the
 * partial one and the answer's) are held without a hash and are never cached.
 *
 * <p>Not thread-safe: {@link Engine} calls it under its lock.
 */
final class KvCache {
  /** Tokens per block, as vLLM's default block size. */
  static final int BLOCK_TOKENS = 16;

  private final int capacity;
  /** Every hashed block, held or evictable, by hash: how many sequences hold it. */
  private final Map<Long, int[]> holders = new HashMap<>();
  /** Hashed blocks nobody holds, least recently released first. */
  private final LinkedHashSet<Long> evictable = new LinkedHashSet<>();
  private int used;
  private long evictions;

  /** @param capacity blocks, {@code >= 1} */
  KvCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    this.capacity = capacity;
  }

  /** Blocks that hold {@code tokens} tokens. */
  static int blocksFor(int tokens) {
    return (tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
  }

  int capacity() {
    return capacity;
  }

  /** Blocks held by running sequences. */
  int used() {
    return used;
  }

  /** Hashed blocks in the cache, held or evictable. */
  int cached() {
    return holders.size();
  }

  long evictions() {
    return evictions;
  }

  /** How many of the leading {@code hashes}, at most {@code limit}, are cached, held or not. */
  int cachedPrefix(long[] hashes, int limit) {
    int n = 0;
    while (n < Math.min(limit, hashes.length) && holders.containsKey(hashes[n])) {
      n++;
    }
    return n;
  }

  /**
   * Whether a sequence of {@code blocks} blocks, the first ones named by {@code hashes}, fits now:
   * whether the blocks it does not share with a running sequence are free.
   */
  boolean fits(long[] hashes, int blocks) {
    int shared = 0;
    for (long hash : hashes) {
      int[] count = holders.get(hash);
      if (count != null && count[0] > 0) {
        shared++;
      }
    }
    return blocks - shared <= capacity - used;
  }

  /** Holds the blocks of a sequence that {@link #fits fits}: {@code hashes} first, then the rest. */
  void hold(long[] hashes, int blocks) {
    if (!fits(hashes, blocks)) {
      throw new IllegalStateException("hold: " + blocks + " blocks do not fit");
    }
    // Cached blocks first, so that allocating the missing ones cannot evict them.
    boolean[] missing = new boolean[hashes.length];
    for (int i = 0; i < hashes.length; i++) {
      int[] count = holders.get(hashes[i]);
      if (count == null) {
        missing[i] = true;
      } else if (count[0]++ == 0) {
        evictable.remove(hashes[i]);
        used++;
      }
    }
    for (int i = 0; i < hashes.length; i++) {
      if (missing[i]) {
        allocate();
        holders.put(hashes[i], new int[] {1});
      }
    }
    for (int i = hashes.length; i < blocks; i++) {
      allocate();
    }
  }

  /** Releases what {@link #hold} held, last block first. */
  void release(long[] hashes, int blocks) {
    used -= blocks - hashes.length;
    for (int i = hashes.length - 1; i >= 0; i--) {
      int[] count = holders.get(hashes[i]);
      if (--count[0] == 0) {
        evictable.add(hashes[i]);
        used--;
      }
    }
  }

  /** Takes a never-used block, or else evicts the least recently released one. */
  private void allocate() {
    if (capacity - used - evictable.size() == 0) {
      Iterator<Long> eldest = evictable.iterator();
      holders.remove(eldest.next());
      eldest.remove();
      evictions++;
    }
    used++;
  }
}
