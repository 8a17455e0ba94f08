package io.modelway.runtime.onnx;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * Gathers the inputs of concurrent jobs into batches for one model call each.
 *
 * <p>Design: a dynamic batcher with one model instance, after the scheme of Triton's and
 * TorchServe's dynamic batching. Inputs wait in one FIFO queue, bounded in inputs. A single thread,
 * owned by the batcher, takes a batch when the queue holds {@code maxBatchSize} inputs or when the
 * oldest queued input has waited {@code maxWait}, whichever comes first, runs the model on it, and
 * comes back for the next. While the model runs, inputs keep queuing, so under load batches fill
 * up without waiting and the wait only adds latency when the model is idle. A job's inputs may be
 * split over consecutive batches; its results keep the order of its inputs.
 *
 * <p>Thread-safe. Futures complete on the batcher's thread: what depends on them must not block.
 *
 * @param <T> an input
 * @param <R> the model's result for one input
 */
final class DynamicBatcher<T, R> implements AutoCloseable {

  /** One model call: the result for each input, in order. Throwing fails every job in the batch. */
  @FunctionalInterface
  interface BatchFunction<T, R> {
    List<R> apply(List<T> inputs);
  }

  private static final class Job<T, R> {
    final CompletableFuture<List<R>> future = new CompletableFuture<>();
    final Object[] results;
    final long arrivedNanos;
    /** Inputs without a result yet; touched by the batcher's thread only. */
    int remaining;

    Job(int size, long arrivedNanos) {
      this.results = new Object[size];
      this.remaining = size;
      this.arrivedNanos = arrivedNanos;
    }
  }

  private record Slot<T, R>(Job<T, R> job, int index, T input) {}

  private final int maxBatchSize;
  private final long maxWaitNanos;
  private final int maxQueued;
  private final BatchFunction<T, R> model;
  private final ExecutorService thread;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition ready = lock.newCondition();
  private final ArrayDeque<Slot<T, R>> queue = new ArrayDeque<>();
  private boolean closed;
  private final AtomicLong calls = new AtomicLong();
  private volatile int running;

  /**
   * Starts the batcher's thread.
   *
   * @param maxQueued the most inputs waiting for a batch; {@link #submit} rejects beyond it
   */
  DynamicBatcher(String threadName, int maxBatchSize, Duration maxWait, int maxQueued,
      BatchFunction<T, R> model) {
    requireNonNull(threadName, "threadName");
    this.maxBatchSize = maxBatchSize;
    this.maxWaitNanos = requireNonNull(maxWait, "maxWait").toNanos();
    this.maxQueued = maxQueued;
    this.model = requireNonNull(model, "model");
    this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(1),
        r -> {
          Thread t = new Thread(r, threadName);
          t.setDaemon(true);
          return t;
        });
    thread.execute(this::loop);
  }

  /**
   * Queues {@code inputs} (at least one) as one job. The future completes with one result per
   * input, in order, or exceptionally with what the model threw; cancelling it drops the inputs
   * not yet taken into a batch.
   *
   * @throws RejectedExecutionException when the inputs do not fit in the queue, or after close
   */
  CompletableFuture<List<R>> submit(List<T> inputs) {
    requireNonNull(inputs, "inputs");
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("inputs: [] (expected: at least one)");
    }
    Job<T, R> job = new Job<>(inputs.size(), System.nanoTime());
    lock.lock();
    try {
      if (closed) {
        throw new RejectedExecutionException("closed");
      }
      if (queue.size() + inputs.size() > maxQueued) {
        throw new RejectedExecutionException(queue.size() + " inputs wait (limit " + maxQueued + ")");
      }
      boolean wasEmpty = queue.isEmpty();
      for (int i = 0; i < inputs.size(); i++) {
        queue.addLast(new Slot<>(job, i, requireNonNull(inputs.get(i), "inputs[" + i + "]")));
      }
      if (wasEmpty || queue.size() >= maxBatchSize) {
        ready.signal();
      }
    } finally {
      lock.unlock();
    }
    return job.future;
  }

  /** Model calls made since start. */
  long calls() {
    return calls.get();
  }

  /** Inputs in the batch the model is computing now; 0 when idle. */
  int running() {
    return running;
  }

  /** Inputs waiting for a batch. */
  int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  private void loop() {
    try {
      while (true) {
        List<Slot<T, R>> batch = take();
        if (batch == null) {
          return;
        }
        run(batch);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      failQueued(new RejectedExecutionException("closed"));
    }
  }

  /** Blocks until a batch is due; {@code null} once closed. */
  private @Nullable List<Slot<T, R>> take() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        if (closed) {
          return null;
        }
        while (!queue.isEmpty() && queue.peekFirst().job.future.isDone()) {
          queue.pollFirst(); // cancelled, or failed in an earlier batch
        }
        if (queue.isEmpty()) {
          ready.await();
          continue;
        }
        long left = queue.peekFirst().job.arrivedNanos + maxWaitNanos - System.nanoTime();
        if (queue.size() >= maxBatchSize || left <= 0) {
          break;
        }
        ready.awaitNanos(left);
      }
      List<Slot<T, R>> batch = new ArrayList<>(Math.min(maxBatchSize, queue.size()));
      while (batch.size() < maxBatchSize && !queue.isEmpty()) {
        Slot<T, R> slot = queue.pollFirst();
        if (!slot.job.future.isDone()) {
          batch.add(slot);
        }
      }
      return batch;
    } finally {
      lock.unlock();
    }
  }

  @SuppressWarnings("unchecked")
  private void run(List<Slot<T, R>> batch) {
    if (batch.isEmpty()) {
      return;
    }
    List<T> inputs = new ArrayList<>(batch.size());
    batch.forEach(slot -> inputs.add(slot.input));
    List<R> out;
    try {
      calls.incrementAndGet();
      running = inputs.size();
      out = model.apply(inputs);
      if (out.size() != inputs.size()) {
        throw new IllegalStateException(
            "model answered " + out.size() + " results for " + inputs.size() + " inputs");
      }
    } catch (RuntimeException e) {
      running = 0;
      Map<Job<T, R>, Boolean> jobs = new IdentityHashMap<>();
      batch.forEach(slot -> jobs.put(slot.job, true));
      jobs.keySet().forEach(job -> job.future.completeExceptionally(e));
      return;
    }
    running = 0;
    for (int i = 0; i < batch.size(); i++) {
      Slot<T, R> slot = batch.get(i);
      Job<T, R> job = slot.job;
      job.results[slot.index] = out.get(i);
      if (--job.remaining == 0) {
        job.future.complete((List<R>) Arrays.asList(job.results));
      }
    }
  }

  private void failQueued(RuntimeException e) {
    lock.lock();
    try {
      queue.forEach(slot -> slot.job.future.completeExceptionally(e));
      queue.clear();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops taking batches: the one running finishes, queued jobs fail with
   * {@link RejectedExecutionException}. Waits up to {@code timeout} for the running batch.
   *
   * @return whether the batcher's thread ended in time
   */
  boolean close(Duration timeout) {
    lock.lock();
    try {
      closed = true;
      ready.signalAll();
    } finally {
      lock.unlock();
    }
    thread.shutdown();
    try {
      return thread.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }
}
