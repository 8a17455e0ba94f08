package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KvCacheTest {

  @Test
  void findsTheLeadingCachedBlocksOfAReleasedPrompt() {
    KvCache cache = new KvCache(10);
    long[] prompt = {1, 2, 3};
    cache.hold(prompt, 4);
    assertThat(cache.used()).isEqualTo(4);
    cache.release(prompt, 4);

    assertThat(cache.used()).isZero();
    assertThat(cache.cached()).isEqualTo(3);
    assertThat(cache.cachedPrefix(new long[] {1, 2, 9}, 3)).isEqualTo(2);
    assertThat(cache.cachedPrefix(new long[] {1, 2, 3}, 3)).isEqualTo(3);
    assertThat(cache.cachedPrefix(new long[] {1, 2, 3}, 1)).isEqualTo(1);
    assertThat(cache.cachedPrefix(new long[] {9, 2, 3}, 3)).isZero();
  }

  @Test
  void sharesHeldBlocksBetweenRunningSequences() {
    KvCache cache = new KvCache(4);
    cache.hold(new long[] {1, 2}, 3);
    // Blocks 1 and 2 are shared, so only one more block is needed, not three.
    assertThat(cache.fits(new long[] {1, 2}, 3)).isTrue();
    cache.hold(new long[] {1, 2}, 3);
    assertThat(cache.used()).isEqualTo(4);
    assertThat(cache.fits(new long[] {7}, 1)).isFalse();

    cache.release(new long[] {1, 2}, 3);
    assertThat(cache.used()).isEqualTo(3);
    cache.release(new long[] {1, 2}, 3);
    assertThat(cache.used()).isZero();
    assertThat(cache.cached()).isEqualTo(2);
  }

  @Test
  void evictsTheLeastRecentlyReleasedBlocksWhenFull() {
    KvCache cache = new KvCache(4);
    cache.hold(new long[] {1, 2}, 2);
    cache.release(new long[] {1, 2}, 2);
    cache.hold(new long[] {3, 4}, 2);
    cache.release(new long[] {3, 4}, 2);
    assertThat(cache.cached()).isEqualTo(4);

    // {1, 2} again: its blocks leave the eviction queue and rejoin it as the most recent.
    cache.hold(new long[] {1, 2}, 2);
    cache.release(new long[] {1, 2}, 2);
    // Two new blocks evict the least recently released: 4 (released last-first, so before 3), then 3.
    cache.hold(new long[] {5}, 2);

    assertThat(cache.evictions()).isEqualTo(2);
    assertThat(cache.cachedPrefix(new long[] {1, 2}, 2)).isEqualTo(2);
    assertThat(cache.cachedPrefix(new long[] {3}, 1)).isZero();
    assertThat(cache.cachedPrefix(new long[] {4}, 1)).isZero();
    assertThat(cache.cachedPrefix(new long[] {5}, 1)).isEqualTo(1);
  }

  @Test
  void evictsAPrefixTailFirst() {
    KvCache cache = new KvCache(3);
    cache.hold(new long[] {1, 2, 3}, 3);
    cache.release(new long[] {1, 2, 3}, 3);

    cache.hold(new long[0], 1);

    assertThat(cache.cachedPrefix(new long[] {1, 2, 3}, 3)).isEqualTo(2);
  }

  @Test
  void neverEvictsBlocksThatSequencesHold() {
    KvCache cache = new KvCache(3);
    cache.hold(new long[] {1, 2}, 2);
    cache.hold(new long[] {3}, 1);
    cache.release(new long[] {3}, 1);

    assertThat(cache.fits(new long[] {4}, 2)).isFalse();
    assertThatThrownBy(() -> cache.hold(new long[] {4}, 2)).isInstanceOf(IllegalStateException.class);
    cache.hold(new long[] {4}, 1);
    assertThat(cache.cachedPrefix(new long[] {1, 2}, 2)).isEqualTo(2);
    assertThat(cache.cachedPrefix(new long[] {3}, 1)).isZero();
  }

  @Test
  void reusesACachedBlockInsteadOfEvictingIt() {
    KvCache cache = new KvCache(2);
    cache.hold(new long[] {1, 2}, 2);
    cache.release(new long[] {1, 2}, 2);

    // Both blocks are evictable, and one of them is also wanted: it is taken, not evicted.
    cache.hold(new long[] {9, 2}, 2);

    assertThat(cache.used()).isEqualTo(2);
    assertThat(cache.evictions()).isEqualTo(1);
    assertThat(cache.cachedPrefix(new long[] {1}, 1)).isZero();
  }
}
