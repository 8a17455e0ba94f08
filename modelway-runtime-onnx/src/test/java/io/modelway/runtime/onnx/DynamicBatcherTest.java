package io.modelway.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {
  private final List<List<Integer>> batches = new CopyOnWriteArrayList<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch firstCallStarted = new CountDownLatch(1);
  private DynamicBatcher<Integer, Integer> batcher;

  /** Times ten; the first call waits for {@link #release} when {@code blockFirst}. */
  private DynamicBatcher<Integer, Integer> start(
      int maxBatchSize, Duration maxWait, int maxQueued, boolean blockFirst) {
    batcher = new DynamicBatcher<>("test-batcher", maxBatchSize, maxWait, maxQueued, inputs -> {
      batches.add(List.copyOf(inputs));
      firstCallStarted.countDown();
      if (blockFirst && batches.size() == 1) {
        await(release);
      }
      return inputs.stream().map(i -> i * 10).toList();
    });
    return batcher;
  }

  @AfterEach
  void close() {
    release.countDown();
    batcher.close();
  }

  @Test
  void runsABatchAsSoonAsItIsFullWithoutWaitingForMaxWait() throws Exception {
    start(4, Duration.ofSeconds(30), 100, false);

    List<CompletableFuture<List<Integer>>> jobs = List.of(
        batcher.submit(List.of(1)), batcher.submit(List.of(2)),
        batcher.submit(List.of(3)), batcher.submit(List.of(4)));

    for (int i = 0; i < 4; i++) {
      assertThat(jobs.get(i).get(10, TimeUnit.SECONDS)).containsExactly((i + 1) * 10);
    }
    assertThat(batches).containsExactly(List.of(1, 2, 3, 4));
  }

  @Test
  void runsAPartialBatchOnceItsFirstInputWaitedMaxWait() throws Exception {
    start(100, Duration.ofNanos(50_000_000), 100, false);
    long start = System.nanoTime();

    List<Integer> result = batcher.submit(List.of(7, 8)).get(10, TimeUnit.SECONDS);

    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(50_000_000);
    assertThat(result).containsExactly(70, 80);
    assertThat(batches).containsExactly(List.of(7, 8));
  }

  @Test
  void splitsAJobAcrossBatchesAndKeepsTheOrderOfItsInputs() throws Exception {
    start(3, Duration.ZERO, 100, false);

    List<Integer> result = batcher.submit(List.of(1, 2, 3, 4, 5, 6, 7)).get(10, TimeUnit.SECONDS);

    assertThat(result).containsExactly(10, 20, 30, 40, 50, 60, 70);
    assertThat(batches).containsExactly(List.of(1, 2, 3), List.of(4, 5, 6), List.of(7));
  }

  @Test
  void gathersInputsThatArriveWhileTheModelIsBusy() throws Exception {
    start(32, Duration.ZERO, 100, true);
    CompletableFuture<List<Integer>> first = batcher.submit(List.of(0));
    await(firstCallStarted);

    List<CompletableFuture<List<Integer>>> waiting = List.of(
        batcher.submit(List.of(1)), batcher.submit(List.of(2, 3)), batcher.submit(List.of(4)));
    release.countDown();

    assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(0);
    assertThat(waiting.get(1).get(10, TimeUnit.SECONDS)).containsExactly(20, 30);
    assertThat(batches).containsExactly(List.of(0), List.of(1, 2, 3, 4));
    assertThat(batcher.calls()).isEqualTo(2);
  }

  @Test
  void rejectsWhenTheQueueIsFull() {
    start(1, Duration.ZERO, 2, true);
    batcher.submit(List.of(0));
    await(firstCallStarted);
    batcher.submit(List.of(1, 2));

    assertThat(batcher.queued()).isEqualTo(2);
    assertThatThrownBy(() -> batcher.submit(List.of(3)))
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessageContaining("2 inputs wait (limit 2)");
  }

  @Test
  void dropsTheQueuedInputsOfACancelledJob() throws Exception {
    start(32, Duration.ZERO, 100, true);
    batcher.submit(List.of(0));
    await(firstCallStarted);
    CompletableFuture<List<Integer>> cancelled = batcher.submit(List.of(1, 2));
    CompletableFuture<List<Integer>> kept = batcher.submit(List.of(3));

    cancelled.cancel(false);
    release.countDown();

    assertThat(kept.get(10, TimeUnit.SECONDS)).containsExactly(30);
    assertThat(batches).containsExactly(List.of(0), List.of(3));
  }

  @Test
  void failsEveryJobOfABatchWhenTheModelThrows() {
    batcher = new DynamicBatcher<>("failing", 32, Duration.ofMillis(20), 100, inputs -> {
      throw new IllegalStateException("boom");
    });

    CompletableFuture<List<Integer>> a = batcher.submit(List.of(1));
    CompletableFuture<List<Integer>> b = batcher.submit(List.of(2, 3));

    assertThatThrownBy(() -> a.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).hasRootCauseMessage("boom");
    assertThatThrownBy(() -> b.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).hasRootCauseMessage("boom");
  }

  @Test
  void closeFailsQueuedJobsAndRejectsNewOnes() {
    start(1, Duration.ZERO, 100, true);
    batcher.submit(List.of(0));
    await(firstCallStarted);
    CompletableFuture<List<Integer>> queued = batcher.submit(List.of(1));

    assertThat(batcher.close(Duration.ZERO)).as("ended while its batch still runs").isFalse();
    release.countDown();

    assertThat(batcher.close(Duration.ofSeconds(10))).isTrue();
    assertThat(queued).isCompletedExceptionally();
    assertThat(batches).containsExactly(List.of(0));
    assertThatThrownBy(() -> batcher.submit(List.of(2)))
        .isInstanceOf(RejectedExecutionException.class);
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("latch not released within 10s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
