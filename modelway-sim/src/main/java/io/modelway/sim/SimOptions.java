package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How a simulated server behaves. Immutable; validated on construction. The defaults ({@link
 * #defaults()}) are those of {@code modelway sim}, and add no delay: every engine knob that costs
 * time is off until set.
 *
 * @param host the address to listen on
 * @param port the port to listen on; 0 picks a free one
 * @param timeToFirstToken delay before the first token (and, unstreamed, before the answer), on
 *     top of the queue and the prefill; default 0
 * @param tokensPerSecond generation speed of one sequence after the first token; 0 (default) means
 *     no delay at all
 * @param outputTokens answer length in tokens, cut shorter by a request's {@code max_tokens};
 *     default 16
 * @param errorRate share of requests, 0 to 1, answered with a simulated 500 error; default 0
 * @param seed makes the answers and the injected errors repeat from run to run; default 42
 * @param embeddingDimensions length of embedding vectors unless a request asks for {@code
 *     dimensions}; default 384
 * @param kvCacheBlocks KV cache size in blocks of 16 tokens, {@code >= 1}; a request whose prompt
 *     and answer need more is rejected with a 400; default 4096 (65,536 tokens)
 * @param prefillTokensPerSecond speed of prefilling prompt tokens not found in the KV cache, one
 *     sequence at a time; 0 (default) means instantly
 * @param maxRunning sequences that run at once; the others wait in a FIFO queue; 0 (default) means
 *     no limit but the KV cache's
 * @param decodeSlowdown how much each other running sequence slows a sequence's tokens: the delay
 *     between tokens is {@code 1 / tokensPerSecond × (1 + decodeSlowdown × (running − 1))}; default 0
 * @param hangTokens tokens a sequence may send in {@link ChaosMode#HANG} before it stalls; default 1
 * @param chaos moments at which the server switches to a chaos mode on its own; default none
 * @param promptTokensPerByte whether a prompt's text counts one token per UTF-8 byte (the most
 *     any byte-level tokenizer can make of it) instead of one per four characters; default
 *     false. For tests of what the gateway reserves against hard quotas
 * @param models the models {@code GET /v1/models} lists (any name is still served); default
 *     {@code [sim]}
 */
public record SimOptions(
    String host,
    int port,
    Duration timeToFirstToken,
    double tokensPerSecond,
    int outputTokens,
    double errorRate,
    long seed,
    int embeddingDimensions,
    int kvCacheBlocks,
    double prefillTokensPerSecond,
    int maxRunning,
    double decodeSlowdown,
    int hangTokens,
    List<ChaosTrigger> chaos,
    boolean promptTokensPerByte,
    List<String> models) {

  public static final int DEFAULT_KV_CACHE_BLOCKS = 4096;
  public static final int DEFAULT_HANG_TOKENS = 1;
  public static final List<String> DEFAULT_MODELS = List.of("sim");

  public SimOptions {
    requireNonNull(host, "host");
    requireNonNull(timeToFirstToken, "timeToFirstToken");
    chaos = List.copyOf(requireNonNull(chaos, "chaos"));
    models = List.copyOf(requireNonNull(models, "models"));
    if (models.isEmpty() || models.stream().anyMatch(String::isBlank)) {
      throw new IllegalArgumentException("models: " + models + " (expected: one name or more)");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
    }
    if (timeToFirstToken.isNegative()) {
      throw new IllegalArgumentException("ttft: " + timeToFirstToken + " (expected: >= 0)");
    }
    if (!(tokensPerSecond >= 0)) {
      throw new IllegalArgumentException("tokens-per-second: " + tokensPerSecond + " (expected: >= 0)");
    }
    if (outputTokens < 1) {
      throw new IllegalArgumentException("output-tokens: " + outputTokens + " (expected: >= 1)");
    }
    if (!(errorRate >= 0 && errorRate <= 1)) {
      throw new IllegalArgumentException("error-rate: " + errorRate + " (expected: 0 to 1)");
    }
    if (embeddingDimensions < 1) {
      throw new IllegalArgumentException(
          "embedding-dimensions: " + embeddingDimensions + " (expected: >= 1)");
    }
    int leastBlocks = KvCache.blocksFor(1 + outputTokens);
    if (kvCacheBlocks < leastBlocks) {
      throw new IllegalArgumentException("kv-cache-blocks: " + kvCacheBlocks + " (expected: >= "
          + leastBlocks + ", the blocks of 16 tokens that a one-token prompt and an answer of "
          + outputTokens + " output-tokens need)");
    }
    if (!(prefillTokensPerSecond >= 0)) {
      throw new IllegalArgumentException(
          "prefill-tokens-per-second: " + prefillTokensPerSecond + " (expected: >= 0)");
    }
    if (maxRunning < 0) {
      throw new IllegalArgumentException("max-running: " + maxRunning + " (expected: >= 0, 0 = no limit)");
    }
    if (!(decodeSlowdown >= 0)) {
      throw new IllegalArgumentException("decode-slowdown: " + decodeSlowdown + " (expected: >= 0)");
    }
    if (hangTokens < 0) {
      throw new IllegalArgumentException("hang-tokens: " + hangTokens + " (expected: >= 0)");
    }
  }

  /** The options before {@code promptTokensPerByte} existed: four characters a token. */
  public SimOptions(String host, int port, Duration timeToFirstToken, double tokensPerSecond,
      int outputTokens, double errorRate, long seed, int embeddingDimensions, int kvCacheBlocks,
      double prefillTokensPerSecond, int maxRunning, double decodeSlowdown, int hangTokens,
      List<ChaosTrigger> chaos) {
    this(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate, seed,
        embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning, decodeSlowdown,
        hangTokens, chaos, false, DEFAULT_MODELS);
  }

  /** The options before {@code models} existed: {@code GET /v1/models} lists {@code sim}. */
  public SimOptions(String host, int port, Duration timeToFirstToken, double tokensPerSecond,
      int outputTokens, double errorRate, long seed, int embeddingDimensions, int kvCacheBlocks,
      double prefillTokensPerSecond, int maxRunning, double decodeSlowdown, int hangTokens,
      List<ChaosTrigger> chaos, boolean promptTokensPerByte) {
    this(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate, seed,
        embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning, decodeSlowdown,
        hangTokens, chaos, promptTokensPerByte, DEFAULT_MODELS);
  }

  /** The options before the engine knobs existed; those take their defaults. */
  public SimOptions(String host, int port, Duration timeToFirstToken, double tokensPerSecond,
      int outputTokens, double errorRate, long seed, int embeddingDimensions) {
    this(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate, seed,
        embeddingDimensions, DEFAULT_KV_CACHE_BLOCKS, 0, 0, 0, DEFAULT_HANG_TOKENS, List.of());
  }

  /**
   * Instant answers of 16 tokens, no errors, seed 42, 384-wide embeddings, a KV cache of 4096
   * blocks, no prefill delay, no limit on running sequences, no slowdown, no chaos, on a free port.
   */
  public static SimOptions defaults() {
    return new SimOptions("127.0.0.1", 0, Duration.ZERO, 0, 16, 0, 42, 384);
  }

  public SimOptions withPort(int port) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withTiming(Duration timeToFirstToken, double tokensPerSecond) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withOutputTokens(int outputTokens) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withErrorRate(double errorRate) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withKvCacheBlocks(int kvCacheBlocks) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withPrefillTokensPerSecond(double prefillTokensPerSecond) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withMaxRunning(int maxRunning) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withDecodeSlowdown(double decodeSlowdown) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  public SimOptions withHangTokens(int hangTokens) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  /** These options counting a prompt's text one token per UTF-8 byte, or not. */
  public SimOptions withPromptTokensPerByte(boolean promptTokensPerByte) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }

  /** These options with {@code trigger} added to the chaos triggers. */
  public SimOptions withChaos(ChaosTrigger trigger) {
    List<ChaosTrigger> triggers = new ArrayList<>(chaos);
    triggers.add(requireNonNull(trigger, "trigger"));
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, triggers, promptTokensPerByte, models);
  }

  /** These options listing {@code models} on {@code GET /v1/models}. */
  public SimOptions withModels(List<String> models) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning,
        decodeSlowdown, hangTokens, chaos, promptTokensPerByte, models);
  }
}
