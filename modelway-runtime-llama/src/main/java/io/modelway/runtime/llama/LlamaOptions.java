package io.modelway.runtime.llama;

/**
 * How a GGUF model runs.
 *
 * @param slots requests generated at the same time (llama.cpp's parallel slots, batched together);
 *     one executor thread each. Default 4.
 * @param contextSize tokens of KV cache for the whole model, shared equally by the slots: one
 *     request's prompt plus completion fits in {@code contextSize / slots} tokens. Default 2048.
 * @param threads CPU threads llama.cpp computes with. Default: the available processors.
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

  /** 4 slots, 2048 tokens of context, one thread per available processor. */
  public static LlamaOptions defaults() {
    return new LlamaOptions(4, 2048, Runtime.getRuntime().availableProcessors());
  }

  /** Tokens one request's prompt and completion may use together. */
  int contextPerSlot() {
    return contextSize / slots;
  }
}
