package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The physics of one simulated inference engine, a simplified vLLM scheduler:
 *
 * <ul>
 *   <li><b>Admission.</b> Sequences wait in a FIFO queue and start running while fewer than
 *       {@code maxRunning} run (0: no limit) and the KV cache has room for their prompt and
 *       answer. The head of the queue waits for room; nobody overtakes it.
 *   <li><b>Prefill.</b> At admission the prompt's leading cached blocks cost nothing (at most all
 *       but its last token are taken from the cache, as in vLLM); the other tokens are prefilled
 *       at {@code prefillTokensPerSecond} (0: instantly), one sequence at a time, in admission
 *       order, as on a compute-bound accelerator. The first token comes
 *       {@code lane wait + uncached tokens / prefillTokensPerSecond + timeToFirstToken} after
 *       admission, so a queued request's time to first token also counts its time in the queue.
 *   <li><b>Decode.</b> Each later token comes {@code 1 / tokensPerSecond × (1 + decodeSlowdown ×
 *       (running − 1))} after the one before (0 if {@code tokensPerSecond} is 0), {@code running}
 *       being read when the wait starts.
 *   <li><b>Memory.</b> A sequence holds the blocks of its prompt and its whole answer from
 *       admission to its end, so the engine never preempts.
 * </ul>
 *
 * <p>The engine computes delays; its caller waits them. The injected clock (nanoseconds, as
 * {@link System#nanoTime}) only places prefills in the lane. Thread-safe: one lock guards the
 * queue, the cache and the counters; admissions are completed outside it.
 */
final class Engine {
  private enum State { WAITING, RUNNING, DONE }

  private record Started(Sequence sequence, Admission admission) {}

  /**
   * A sequence's start.
   *
   * @param cachedTokens prompt tokens taken from the KV cache
   * @param firstTokenNanos delay from admission to the first token
   */
  record Admission(int cachedTokens, long firstTokenNanos) {}

  /**
   * Counters and gauges at one moment.
   *
   * @param promptTokens prompt tokens of every admitted sequence, each looked up in the cache
   * @param prefixHitTokens prompt tokens found there
   */
  record Snapshot(int running, int waiting, int usedBlocks, int capacityBlocks,
      long promptTokens, long generationTokens, long prefixHitTokens) {

    /** Share of blocks held by running sequences, 0 to 1 (vLLM's {@code gpu_cache_usage_perc}). */
    double cacheUsage() {
      return (double) usedBlocks / capacityBlocks;
    }
  }

  /** One request's life in the engine: waiting, running, done. */
  final class Sequence {
    private final Prompt prompt;
    private final int blocks;
    private final CompletableFuture<Admission> admission = new CompletableFuture<>();
    private State state = State.WAITING;

    private Sequence(Prompt prompt, int blocks) {
      this.prompt = prompt;
      this.blocks = blocks;
    }

    /** Completes when the sequence starts running; cancelling it does not withdraw it. */
    CompletableFuture<Admission> admission() {
      return admission;
    }
  }

  private final int maxRunning;
  private final double prefillTokensPerSecond;
  private final long timeToFirstTokenNanos;
  private final double nanosPerToken;
  private final double decodeSlowdown;
  private final LongSupplier nanoClock;
  private final KvCache cache;
  private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
  private final LongAdder generationTokens = new LongAdder();
  private int running;
  private long prefillFreeAt;
  private long promptTokens;
  private long prefixHitTokens;

  Engine(SimOptions options, LongSupplier nanoClock) {
    this.maxRunning = options.maxRunning();
    this.prefillTokensPerSecond = options.prefillTokensPerSecond();
    this.timeToFirstTokenNanos = options.timeToFirstToken().toNanos();
    this.nanosPerToken = options.tokensPerSecond() > 0 ? 1e9 / options.tokensPerSecond() : 0;
    this.decodeSlowdown = options.decodeSlowdown();
    this.nanoClock = requireNonNull(nanoClock, "nanoClock");
    this.cache = new KvCache(options.kvCacheBlocks());
    this.prefillFreeAt = nanoClock.getAsLong();
  }

  /** The longest prompt plus answer the KV cache can hold, in tokens. */
  int maxTokens() {
    return cache.capacity() * KvCache.BLOCK_TOKENS;
  }

  /**
   * Queues a sequence of {@code prompt} and an answer of {@code outputTokens}, and starts it if it
   * can. Each sequence must be {@link #finish finished}.
   *
   * @throws IllegalArgumentException if it could never fit ({@link #maxTokens})
   */
  Sequence submit(Prompt prompt, int outputTokens) {
    int tokens = prompt.tokens() + outputTokens;
    if (tokens > maxTokens()) {
      throw new IllegalArgumentException(
          "sequence: " + tokens + " tokens (expected: <= " + maxTokens() + ")");
    }
    Sequence sequence = new Sequence(prompt, KvCache.blocksFor(tokens));
    List<Started> started;
    synchronized (this) {
      waiting.add(sequence);
      started = admit();
    }
    complete(started);
    return sequence;
  }

  /**
   * Ends a sequence, waiting or running, and starts those that now fit. Idempotent: a sequence
   * ends once, whether it completed or its client went away.
   */
  void finish(Sequence sequence) {
    List<Started> started;
    synchronized (this) {
      switch (sequence.state) {
        case WAITING -> waiting.remove(sequence);
        case RUNNING -> {
          cache.release(sequence.prompt.blockHashes(), sequence.blocks);
          running--;
        }
        case DONE -> {
          return;
        }
      }
      sequence.state = State.DONE;
      started = admit();
    }
    complete(started);
  }

  /** The wait before a sequence's next token after its first, in nanoseconds, at this moment. */
  long decodeNanos() {
    if (nanosPerToken == 0) {
      return 0;
    }
    int now;
    synchronized (this) {
      now = running;
    }
    return (long) (nanosPerToken * (1 + decodeSlowdown * Math.max(0, now - 1)));
  }

  /** Counts tokens sent. */
  void generated(int tokens) {
    generationTokens.add(tokens);
  }

  synchronized Snapshot snapshot() {
    return new Snapshot(running, waiting.size(), cache.used(), cache.capacity(),
        promptTokens, generationTokens.sum(), prefixHitTokens);
  }

  /** Starts waiting sequences, first come first, while they fit. Called under the lock. */
  private List<Started> admit() {
    List<Started> started = new ArrayList<>(1);
    while (!waiting.isEmpty() && (maxRunning == 0 || running < maxRunning)) {
      Sequence next = waiting.peek();
      long[] hashes = next.prompt.blockHashes();
      if (!cache.fits(hashes, next.blocks)) {
        break;
      }
      waiting.poll();
      int tokens = next.prompt.tokens();
      int cached = cache.cachedPrefix(hashes, (tokens - 1) / KvCache.BLOCK_TOKENS)
          * KvCache.BLOCK_TOKENS;
      cache.hold(hashes, next.blocks);
      next.state = State.RUNNING;
      running++;
      promptTokens += tokens;
      prefixHitTokens += cached;

      long now = nanoClock.getAsLong();
      long prefill = prefillTokensPerSecond > 0
          ? (long) ((tokens - cached) * 1e9 / prefillTokensPerSecond)
          : 0;
      long start = Math.max(now, prefillFreeAt);
      prefillFreeAt = start + prefill;
      started.add(new Started(next, new Admission(cached, prefillFreeAt - now + timeToFirstTokenNanos)));
    }
    return started;
  }

  private static void complete(List<Started> started) {
    for (Started s : started) {
      s.sequence().admission.complete(s.admission());
    }
  }
}
