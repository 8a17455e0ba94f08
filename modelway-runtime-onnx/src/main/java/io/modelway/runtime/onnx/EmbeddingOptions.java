package io.modelway.runtime.onnx;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Locale;

/**
 * How an embedding model batches and computes.
 *
 * @param maxBatchSize the most inputs (strings) one model call embeds; a batch runs as soon as it
 *     holds this many. Default 32.
 * @param maxWait how long the first input of a batch may wait for others before the batch runs
 *     anyway; microsecond precision is kept (bind it as {@code 2000us} or {@code 2ms}). Zero runs
 *     each batch as soon as the model is free, so inputs are only gathered while it is busy.
 *     Default 2 ms.
 * @param threads CPU threads ONNX Runtime computes one batch with (its intra-op threads); batches
 *     run one after the other. Default: the available processors.
 */
public record EmbeddingOptions(int maxBatchSize, Duration maxWait, int threads) {
  /** More inputs than this in one batch only adds padding waste and latency. */
  static final int MAX_BATCH_SIZE = 2048;
  static final Duration MAX_WAIT_LIMIT = Duration.ofSeconds(1);

  public EmbeddingOptions {
    requireNonNull(maxWait, "maxWait");
    if (maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
      throw new IllegalArgumentException(
          "maxBatchSize: " + maxBatchSize + " (expected: 1 to " + MAX_BATCH_SIZE + ")");
    }
    if (maxWait.isNegative() || maxWait.compareTo(MAX_WAIT_LIMIT) > 0) {
      throw new IllegalArgumentException(
          "maxWait: " + fmt(maxWait) + " (expected: 0 to " + fmt(MAX_WAIT_LIMIT) + ")");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("threads: " + threads + " (expected: >= 1)");
    }
  }

  /** Batches of up to 32, a 2 ms wait, one thread per available processor. */
  public static EmbeddingOptions defaults() {
    return new EmbeddingOptions(
        32, Duration.ofMillis(2), Runtime.getRuntime().availableProcessors());
  }

  /** These options with {@code maxWait} given in microseconds, the unit of the user contract. */
  public EmbeddingOptions withMaxWaitMicros(long micros) {
    return new EmbeddingOptions(maxBatchSize, Duration.ofNanos(Math.multiplyExact(micros, 1000L)),
        threads);
  }

  private static String fmt(Duration d) {
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
  }
}
