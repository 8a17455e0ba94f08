package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EngineTest {
  private static final long MS = 1_000_000;
  private final AtomicLong clock = new AtomicLong(5_000 * MS);

  /** 1000 prefill tokens a second (1 ms a token), a 100 ms base time to first token. */
  private static final SimOptions PHYSICS = SimOptions.defaults()
      .withTiming(Duration.ofMillis(100), 0)
      .withPrefillTokensPerSecond(1000);

  private Engine engine(SimOptions options) {
    return new Engine(options, clock::get);
  }

  /** A prompt of {@code tokens} tokens whose full blocks are named {@code first}, first + 1, … */
  private static Prompt prompt(int tokens, long first) {
    long[] hashes = new long[tokens / KvCache.BLOCK_TOKENS];
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = first + i;
    }
    return new Prompt(tokens, hashes);
  }

  @Test
  void prefixHitShortensTheTimeToFirstToken() {
    Engine engine = engine(PHYSICS);
    Engine.Sequence cold = engine.submit(prompt(200, 1), 16);
    Engine.Admission first = cold.admission().join();
    assertThat(first.cachedTokens()).isZero();
    assertThat(first.firstTokenNanos()).isEqualTo(100 * MS + 200 * MS);
    engine.finish(cold);
    clock.addAndGet(1_000 * MS);

    Engine.Admission warm = engine.submit(prompt(200, 1), 16).admission().join();

    // 12 full blocks (192 tokens) cached: only 8 tokens are prefilled.
    assertThat(warm.cachedTokens()).isEqualTo(192);
    assertThat(warm.firstTokenNanos()).isEqualTo(100 * MS + 8 * MS);
    Engine.Snapshot s = engine.snapshot();
    assertThat(s.prefixHitTokens()).isEqualTo(192);
    assertThat(s.promptTokens()).isEqualTo(400);
  }

  @Test
  void recomputesTheLastTokenOfAFullyCachedPrompt() {
    Engine engine = engine(PHYSICS);
    engine.finish(engine.submit(prompt(32, 1), 16));
    clock.addAndGet(1_000 * MS);

    Engine.Admission again = engine.submit(prompt(32, 1), 16).admission().join();

    // As vLLM: at most all but the last token come from the cache, so the last block is prefilled.
    assertThat(again.cachedTokens()).isEqualTo(16);
    assertThat(again.firstTokenNanos()).isEqualTo(100 * MS + 16 * MS);
  }

  @Test
  void prefillsOneSequenceAtATime() {
    Engine engine = engine(PHYSICS);
    Engine.Admission a = engine.submit(prompt(100, 1), 16).admission().join();
    clock.addAndGet(30 * MS);
    Engine.Admission b = engine.submit(prompt(50, 100), 16).admission().join();

    assertThat(a.firstTokenNanos()).isEqualTo(100 * MS + 100 * MS);
    // b waits 70 ms for a's prefill to end, then takes 50 ms of its own.
    assertThat(b.firstTokenNanos()).isEqualTo(70 * MS + 50 * MS + 100 * MS);

    clock.addAndGet(1_000 * MS);
    Engine.Admission c = engine.submit(prompt(10, 200), 16).admission().join();
    assertThat(c.firstTokenNanos()).isEqualTo(10 * MS + 100 * MS);
  }

  @Test
  void queuesSequencesBeyondMaxRunningFirstComeFirstServed() {
    Engine engine = engine(SimOptions.defaults().withMaxRunning(2));
    Engine.Sequence a = engine.submit(prompt(10, 1), 16);
    Engine.Sequence b = engine.submit(prompt(10, 2), 16);
    Engine.Sequence c = engine.submit(prompt(10, 3), 16);
    Engine.Sequence d = engine.submit(prompt(10, 4), 16);

    assertThat(a.admission()).isDone();
    assertThat(b.admission()).isDone();
    assertThat(c.admission()).isNotDone();
    assertThat(d.admission()).isNotDone();
    assertThat(engine.snapshot().running()).isEqualTo(2);
    assertThat(engine.snapshot().waiting()).isEqualTo(2);

    engine.finish(b);
    assertThat(c.admission()).isDone();
    assertThat(d.admission()).isNotDone();
    assertThat(engine.snapshot().running()).isEqualTo(2);
    assertThat(engine.snapshot().waiting()).isEqualTo(1);

    engine.finish(d); // its client went away while it waited
    engine.finish(d);
    assertThat(engine.snapshot().waiting()).isZero();
    engine.finish(a);
    engine.finish(c);
    assertThat(engine.snapshot().running()).isZero();
    assertThat(engine.snapshot().usedBlocks()).isZero();
  }

  @Test
  void waitingCountsInTheTimeToFirstTokenThroughTheQueue() {
    Engine engine = engine(PHYSICS.withMaxRunning(1));
    Engine.Sequence a = engine.submit(prompt(100, 1), 16);
    Engine.Sequence b = engine.submit(prompt(100, 100), 16);
    clock.addAndGet(500 * MS);
    engine.finish(a);

    // Admitted now: its own prefill and base; the 500 ms it waited were spent before.
    assertThat(b.admission().join().firstTokenNanos()).isEqualTo(100 * MS + 100 * MS);
  }

  @Test
  void waitsForRoomInTheKvCache() {
    // 4 blocks: a sequence of 40 prompt and 16 answer tokens needs 4.
    Engine engine = engine(SimOptions.defaults().withKvCacheBlocks(4));
    Engine.Sequence a = engine.submit(prompt(40, 1), 16);
    Engine.Sequence b = engine.submit(prompt(40, 10), 16);
    Engine.Sequence c = engine.submit(prompt(1, 20), 16);

    assertThat(a.admission()).isDone();
    assertThat(engine.snapshot().cacheUsage()).isEqualTo(1.0);
    // b does not fit; c would, but does not overtake b.
    assertThat(b.admission()).isNotDone();
    assertThat(c.admission()).isNotDone();

    engine.finish(a);
    assertThat(b.admission()).isDone();
    assertThat(c.admission()).isNotDone();
    engine.finish(b);
    assertThat(c.admission()).isDone();
    assertThat(engine.snapshot().usedBlocks()).isEqualTo(2);
    assertThat(engine.snapshot().cacheUsage()).isEqualTo(0.5);
  }

  @Test
  void refusesASequenceLongerThanTheCache() {
    Engine engine = engine(SimOptions.defaults().withKvCacheBlocks(4));
    assertThat(engine.maxTokens()).isEqualTo(64);
    assertThatThrownBy(() -> engine.submit(prompt(60, 1), 16))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("76 tokens (expected: <= 64)");
  }

  @Test
  void tokensSlowDownWithEachOtherRunningSequence() {
    // 100 tokens a second (10 ms a token), 50% slower per other running sequence.
    Engine engine = engine(SimOptions.defaults().withTiming(Duration.ZERO, 100).withDecodeSlowdown(0.5));
    Engine.Sequence a = engine.submit(prompt(10, 1), 16);
    assertThat(engine.decodeNanos()).isEqualTo(10 * MS);
    engine.submit(prompt(10, 2), 16);
    engine.submit(prompt(10, 3), 16);
    assertThat(engine.decodeNanos()).isEqualTo(20 * MS);
    engine.finish(a);
    assertThat(engine.decodeNanos()).isEqualTo(15 * MS);
  }

  @Test
  void addsNoDelayByDefault() {
    Engine engine = engine(SimOptions.defaults());
    Engine.Admission admission = engine.submit(prompt(5000, 1), 16).admission().join();
    assertThat(admission.firstTokenNanos()).isZero();
    assertThat(engine.decodeNanos()).isZero();
  }
}
