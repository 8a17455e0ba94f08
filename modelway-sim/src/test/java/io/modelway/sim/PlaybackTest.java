package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The engine's physics played on Reactor timers, in virtual time. */
class PlaybackTest {
  private static final List<String> TOKENS = List.of("a", "b", "c");
  private static final List<String> TAIL = List.of("[DONE]");

  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final Chaos chaos = new Chaos(1);

  @AfterEach
  void stopTime() {
    time.dispose();
  }

  private Engine engine(SimOptions options) {
    return new Engine(options, () -> time.now(TimeUnit.NANOSECONDS));
  }

  private static Prompt prompt(int tokens) {
    long[] hashes = new long[tokens / KvCache.BLOCK_TOKENS];
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = i + 1;
    }
    return new Prompt(tokens, hashes);
  }

  /** What {@code flux} emits, each item with the virtual time it came at, once time has run out. */
  private List<String> timed(Flux<String> flux) {
    long start = time.now(TimeUnit.MILLISECONDS);
    List<String> got = new ArrayList<>();
    flux.subscribe(item -> got.add(item + "@" + (time.now(TimeUnit.MILLISECONDS) - start)));
    time.advanceTimeBy(Duration.ofHours(1));
    return got;
  }

  @Test
  void sendsTheFirstTokenAfterPrefillAndTheOthersAtTheDecodeSpeed() {
    // 160 uncached tokens at 1000/s: 160 ms of prefill, 40 ms more to the first token, 10 ms a token.
    Engine engine = engine(SimOptions.defaults().withTiming(Duration.ofMillis(40), 100)
        .withPrefillTokensPerSecond(1000));
    Playback playback = new Playback(engine, chaos, time);

    assertThat(timed(playback.stream(prompt(160), TOKENS, TAIL)))
        .containsExactly("a@200", "b@210", "c@220", "[DONE]@220");
    // The same prompt again: 144 tokens (9 blocks) come from the cache, 16 are prefilled.
    assertThat(timed(playback.whole(prompt(160), 3, "answer").flux()))
        .containsExactly("answer@76");
    assertThat(engine.snapshot().generationTokens()).isEqualTo(6);
    assertThat(engine.snapshot().prefixHitTokens()).isEqualTo(144);
  }

  @Test
  void aQueuedSequenceStartsWhenARunningOneEnds() {
    Engine engine = engine(SimOptions.defaults().withTiming(Duration.ofMillis(100), 0).withMaxRunning(1));
    Playback playback = new Playback(engine, chaos, time);
    StringBuilder order = new StringBuilder();

    Disposable first = playback.stream(prompt(10), List.of("1"), List.of()).subscribe(order::append);
    Disposable second = playback.stream(prompt(10), List.of("2"), List.of()).subscribe(order::append);
    assertThat(engine.snapshot().running()).isEqualTo(1);
    assertThat(engine.snapshot().waiting()).isEqualTo(1);

    time.advanceTimeBy(Duration.ofMillis(100));
    assertThat(order).hasToString("1");
    assertThat(engine.snapshot().waiting()).isZero();
    time.advanceTimeBy(Duration.ofMillis(99));
    assertThat(order).hasToString("1");
    time.advanceTimeBy(Duration.ofMillis(1));
    assertThat(order).hasToString("12");
    assertThat(engine.snapshot().running()).isZero();
    assertThat(first.isDisposed() && second.isDisposed()).isTrue();
  }

  @Test
  void aClientThatLeavesFreesItsPlaceInTheQueueAndInTheBatch() {
    Engine engine = engine(SimOptions.defaults().withTiming(Duration.ofSeconds(1), 0).withMaxRunning(1));
    Playback playback = new Playback(engine, chaos, time);
    Disposable running = playback.stream(prompt(10), TOKENS, TAIL).subscribe();
    Disposable waiting = playback.stream(prompt(10), TOKENS, TAIL).subscribe();

    waiting.dispose();
    assertThat(engine.snapshot().waiting()).isZero();
    running.dispose();
    assertThat(engine.snapshot().running()).isZero();
    assertThat(engine.snapshot().usedBlocks()).isZero();
  }

  @Test
  void aHangStallsAStreamAfterItsTokensAndTheEndResumesIt() {
    Engine engine = engine(SimOptions.defaults().withTiming(Duration.ZERO, 100));
    Playback playback = new Playback(engine, chaos, time);
    chaos.switchTo(ChaosMode.HANG);

    StepVerifier.withVirtualTime(() -> playback.stream(prompt(10), TOKENS, TAIL), () -> time, 10)
        .expectSubscription()
        .expectNext("a")
        .expectNoEvent(Duration.ofHours(1))
        .then(() -> assertThat(engine.snapshot().running()).isEqualTo(1))
        .then(() -> chaos.switchTo(ChaosMode.NORMAL))
        .expectNext("b")
        .thenAwait(Duration.ofMillis(10))
        .expectNext("c", "[DONE]")
        .verifyComplete();
  }
}
