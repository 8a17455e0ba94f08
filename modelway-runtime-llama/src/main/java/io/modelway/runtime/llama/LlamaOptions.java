package io.modelway.runtime.llama;

/**
 * How a GGUF model runs.
 *
 * @param slots requests generated at the same time (llama.cpp's parallel slots, batched together);
 *     one thread per model receives the results of all of them. Default 4.
 * @param contextSize tokens of KV cache for the whole model, shared equally by the slots: one
 *     request's prompt plus completion fits in {@code contextSize / slots} tokens. Default 2048.
 * @param threads CPU threads llama.cpp computes with (its {@code --threads}). Default: half the
 *     available processors, at least 1 ({@link #defaultThreads}).
 */
public record LlamaOptions(int slots, int contextSize, int threads) {
  public LlamaOptions {
    if (slots < 1) {
      throw new IllegalArgumentException("slots: " + slots + " (expected: >= 1)");
    }
    if (contextSize < slots) {
      throw new IllegalArgumentException(
          "contextSize: " + contextSize + " (expected: >= slots, " + slots + ")");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("threads: " + threads + " (expected: >= 1)");
    }
  }

  /** 4 slots, 2048 tokens of context, {@link #defaultThreads} of the available processors. */
  public static LlamaOptions defaults() {
    return new LlamaOptions(4, 2048, defaultThreads(Runtime.getRuntime().availableProcessors()));
  }

  /**
   * Compute threads for a machine of {@code processors}: half of them, at least 1. On machines
   * with two hardware threads per core that is llama.cpp's own choice (one per physical core, as
   * more only contend); everywhere it leaves processors to the HTTP event loops and the other
   * models. On 2 cores, 1 thread made the tiny benchmark model 2-5 times faster than 2
   * (bench/README.md); a large model alone on a big machine may do better with more.
   */
  public static int defaultThreads(int processors) {
    return Math.max(1, processors / 2);
  }

  /** Tokens one request's prompt and completion may use together. */
  int contextPerSlot() {
    return contextSize / slots;
  }
}
