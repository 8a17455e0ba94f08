package io.modelway.runtime.onnx;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The model alone, for {@code bench/embeddings-batching.sh}: sentences/s of one
 * {@link SentenceEncoder} at batch size 1 and at batch size {@code batch}, every input the same
 * text, with no batcher and no HTTP. The encoder is loaded as {@link OnnxEmbeddingBackend#load}
 * loads it (the same resources and session options) with the servers' intra-op threads, and each
 * call does what one batch does in the product: tokenize, one ONNX Runtime call, pooling. The
 * ratio of the two rates is the model's own batching gain, the ceiling for the gateway's.
 *
 * <p>Each batch size first runs {@code warmupSeconds} unmeasured; then {@code rounds} rounds
 * alternate them (batch, then 1), {@code seconds} each. Prints a line per round and last
 * {@code MODEL tokens=.. threads=.. batch=.. batched=.. single=.. ratio=..}, the medians in
 * sentences/s. Run by the script; {@code main(text, batch, threads, warmupSeconds, seconds,
 * rounds)}, where {@code threads} 0 means the servers' default (the available processors).
 */
public final class SentenceEncoderBench {
  private static final OperatingSystemMXBean OS =
      (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private SentenceEncoderBench() {}

  /** One measured run: sentences/s and the process's CPU time per sentence. */
  private record Rate(double perSecond, double cpuMillisEach) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.1f sentences/s (%.2f ms CPU each)", perSecond,
          cpuMillisEach);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: SentenceEncoderBench TEXT BATCH THREADS WARMUP_SECONDS SECONDS"
          + " ROUNDS (THREADS 0: the available processors)");
      System.exit(2);
    }
    String text = args[0];
    int threadsArg = Integer.parseInt(args[2]);
    EmbeddingOptions defaults = EmbeddingOptions.defaults();
    // Checked as the servers check their flags.
    EmbeddingOptions options = new EmbeddingOptions(Integer.parseInt(args[1]), defaults.maxWait(),
        threadsArg == 0 ? defaults.threads() : threadsArg);
    int batch = options.maxBatchSize();
    int threads = options.threads();
    long warmupNanos = Long.parseLong(args[3]) * 1_000_000_000L;
    long nanos = Long.parseLong(args[4]) * 1_000_000_000L;
    int rounds = Integer.parseInt(args[5]);

    try (SentenceEncoder encoder = SentenceEncoder.fromClassPath(
        OnnxEmbeddingBackend.MODEL_RESOURCE, OnnxEmbeddingBackend.TOKENIZER_RESOURCE, threads)) {
      int tokens = encoder.countTokens(text);
      if (tokens > SentenceEncoder.MAX_TOKENS) {
        throw new IllegalArgumentException("text: " + tokens + " tokens (expected: at most "
            + SentenceEncoder.MAX_TOKENS + ")");
      }
      List<String> batched = Collections.nCopies(batch, text);
      List<String> single = List.of(text);
      run(encoder, batched, warmupNanos);
      run(encoder, single, warmupNanos);
      List<Double> batchedRates = new ArrayList<>();
      List<Double> singleRates = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        Rate b = run(encoder, batched, nanos);
        Rate s = run(encoder, single, nanos);
        batchedRates.add(b.perSecond());
        singleRates.add(s.perSecond());
        System.out.printf(Locale.ROOT, "model round %d: batch %d %s, batch 1 %s%n", round, batch,
            b, s);
      }
      double b = median(batchedRates);
      double s = median(singleRates);
      System.out.printf(Locale.ROOT,
          "MODEL tokens=%d threads=%d batch=%d batched=%.1f single=%.1f ratio=%.2f%n",
          tokens, threads, batch, b, s, b / s);
    }
  }

  /** Embeds {@code inputs} with one model call after another for at least {@code nanos}. */
  private static Rate run(SentenceEncoder encoder, List<String> inputs, long nanos) {
    long cpu = OS.getProcessCpuTime();
    long start = System.nanoTime();
    long sentences = 0;
    long elapsed;
    do {
      List<SentenceEncoder.Embedded> out = encoder.encode(inputs);
      if (out.get(0).vector() == null) {
        throw new IllegalStateException("the model computed no vector");
      }
      sentences += out.size();
      elapsed = System.nanoTime() - start;
    } while (elapsed < nanos);
    double cpuMillis = (OS.getProcessCpuTime() - cpu) / 1e6;
    return new Rate(sentences * 1e9 / elapsed, cpuMillis / sentences);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
