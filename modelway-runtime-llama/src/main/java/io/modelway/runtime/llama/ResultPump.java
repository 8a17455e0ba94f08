package io.modelway.runtime.llama;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread per model that starts every generation and receives the results of all of them, in
 * turn, handing each to its {@link Job}.
 *
 * <p>Design note. The binding answers one task's next result per {@code receiveCompletion} call,
 * and llama.cpp's result queue ({@code server_response::recv}) wakes every waiting thread when
 * any result is queued; a thread that finds none of its own waits again at once. With one blocked
 * thread per slot those waiters spin while the other slots' results are pending, and on a small
 * machine they crowd out the engine's compute threads and the HTTP event loops (bench/README.md,
 * "Tiny model tokens/s"). Here a single thread takes the next result of each running task in
 * turn: the slots advance in lockstep, one token each per decode step, so the turn order matches
 * the order the engine produces results and the thread seldom waits for a result that is not
 * next. At most {@code slots} tasks are given to llama.cpp at once (a task beyond that would wait
 * inside llama.cpp for a slot, and the pump with it); the others wait here, in arrival order.
 *
 * <p>Jobs' callbacks run on the pump thread, one at a time, so they must be quick and must not
 * block: they render JSON and emit to Reactor sinks. Thread-safe: {@link #offer} and
 * {@link #close} may be called from any thread.
 */
final class ResultPump {
  private static final Logger log = LoggerFactory.getLogger(ResultPump.class);

  /** A call's part in the pump. Every method is called on the pump thread. */
  interface Job {
    /** True once the caller has gone; the job is then dropped, its task cancelled. */
    boolean cancelled();

    /**
     * Prepares the call (template, tokenize, check) and returns what to generate with.
     *
     * @throws RuntimeException when the call is refused; {@link #failed} is called with it
     */
    InferenceParameters start();

    /**
     * One result of the engine: {@code last} is the engine's closing result, which carries no
     * token of its own (though it may carry text held back until then).
     */
    void result(String text, boolean last);

    /** The call ends with {@code error} and gets no further callbacks. */
    void failed(RuntimeException error);
  }

  private static final Job STOP = new Job() {
    @Override public boolean cancelled() {
      return false;
    }

    @Override public InferenceParameters start() {
      throw new IllegalStateException();
    }

    @Override public void result(String text, boolean last) { }

    @Override public void failed(RuntimeException error) { }
  };

  private record Running(Job job, LlamaIterator results) {}

  private final LlamaModel model;
  private final int slots;
  private final int maxWaiting;
  private final RuntimeException shutDown;
  private final LinkedBlockingQueue<Job> waiting = new LinkedBlockingQueue<>();
  private final AtomicInteger busy = new AtomicInteger();
  private final Thread thread;
  private volatile boolean closed;

  /**
   * Starts the pump thread.
   *
   * @param maxWaiting calls that may wait for a slot; {@link #offer} refuses more
   * @param shutDown what calls still running or waiting fail with when the pump closes
   */
  ResultPump(String name, LlamaModel model, int slots, int maxWaiting, RuntimeException shutDown) {
    this.model = requireNonNull(model, "model");
    this.slots = slots;
    this.maxWaiting = maxWaiting;
    this.shutDown = requireNonNull(shutDown, "shutDown");
    this.thread = new Thread(this::run, "llama-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Queues {@code job}; returns false, without queueing it, when {@code maxWaiting} calls wait
   * already or the pump is closed. The bound is checked without a lock, so a burst may overshoot
   * it by a few.
   */
  boolean offer(Job job) {
    requireNonNull(job, "job");
    if (closed || waiting.size() >= maxWaiting) {
      return false;
    }
    waiting.add(job);
    if (closed && waiting.remove(job)) { // lost a race with close(): its drain may have run
      return false;
    }
    return true;
  }

  /** Calls being generated now. */
  int busy() {
    return busy.get();
  }

  /** Calls waiting for a slot. */
  int waiting() {
    return waiting.size();
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Stops the pump: running tasks are cancelled in llama.cpp, and they and the waiting calls fail
   * with the shut-down error. Returns whether the pump thread ended within {@code timeout}; only
   * then may the model be freed. Called from the pump thread itself (from a job's callback), it
   * cannot wait for that thread, and returns false.
   */
  boolean close(Duration timeout) throws InterruptedException {
    closed = true;
    waiting.add(STOP);
    if (Thread.currentThread() == thread) {
      return false;
    }
    thread.join(TimeUnit.NANOSECONDS.toMillis(timeout.toNanos()) + 1);
    return !thread.isAlive();
  }

  private void run() {
    List<Running> running = new ArrayList<>(slots);
    try {
      while (true) {
        if (running.isEmpty()) {
          admit(waiting.take(), running);
        }
        while (running.size() < slots) {
          Job next = waiting.poll();
          if (next == null) {
            break;
          }
          admit(next, running);
        }
        if (closed) {
          stop(running);
          return;
        }
        for (Iterator<Running> i = running.iterator(); i.hasNext(); ) {
          if (!step(i.next())) {
            i.remove();
          }
        }
        busy.set(running.size());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(running);
    } catch (Throwable t) { // an Error: never leave callers waiting for a pump that died
      log.error("The result pump failed; the model's calls fail from now on", t);
      closed = true;
      stop(running);
      throw t;
    }
  }

  private void admit(Job job, List<Running> running) {
    if (job == STOP || job.cancelled()) { // STOP only wakes the pump: closed is set
      return;
    }
    if (closed) {
      fail(job);
      return;
    }
    try {
      InferenceParameters params = job.start();
      running.add(new Running(job, model.generate(params).iterator()));
    } catch (RuntimeException e) {
      job.failed(e);
    }
    busy.set(running.size());
  }

  /** Hands the next result to the job; false once the job is done, failed or cancelled. */
  private boolean step(Running r) {
    if (r.job.cancelled()) {
      r.results.cancel();
      return false;
    }
    try {
      LlamaOutput out = r.results.next();
      boolean last = !r.results.hasNext();
      r.job.result(out.text, last);
      return !last;
    } catch (RuntimeException e) {
      if (r.results.hasNext()) {
        r.results.cancel();
      }
      r.job.failed(e);
      return false;
    }
  }

  private void stop(List<Running> running) {
    for (Running r : running) {
      try {
        r.results.cancel();
      } catch (RuntimeException e) {
        log.warn("Cannot cancel a generation while closing", e);
      }
      fail(r.job);
    }
    running.clear();
    busy.set(0);
    for (Job job; (job = waiting.poll()) != null; ) {
      if (job != STOP && !job.cancelled()) {
        fail(job);
      }
    }
  }

  private void fail(Job job) {
    try {
      job.failed(shutDown);
    } catch (RuntimeException e) {
      log.warn("A call failed to take its shut-down error", e);
    }
  }
}
