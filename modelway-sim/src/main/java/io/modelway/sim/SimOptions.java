package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How a simulated server behaves. Immutable; validated on construction.
 *
 * @param host the address to listen on
 * @param port the port to listen on; 0 picks a free one
 * @param timeToFirstToken delay before the first token (and, unstreamed, before the answer)
 * @param tokensPerSecond generation speed after the first token; 0 means no delay at all
 * @param outputTokens answer length in tokens, cut shorter by a request's {@code max_tokens}
 * @param errorRate share of requests, 0 to 1, answered with a simulated 500 error
 * @param seed makes the answers and the injected errors repeat from run to run
 * @param embeddingDimensions length of embedding vectors unless a request asks for {@code
 *     dimensions}
 */
public record SimOptions(
    String host,
    int port,
    Duration timeToFirstToken,
    double tokensPerSecond,
    int outputTokens,
    double errorRate,
    long seed,
    int embeddingDimensions) {

  public SimOptions {
    requireNonNull(host, "host");
    requireNonNull(timeToFirstToken, "timeToFirstToken");
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
  }

  /** Instant answers of 16 tokens, no errors, seed 42, 384-wide embeddings, on a free port. */
  public static SimOptions defaults() {
    return new SimOptions("127.0.0.1", 0, Duration.ZERO, 0, 16, 0, 42, 384);
  }

  public SimOptions withPort(int port) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions);
  }

  public SimOptions withTiming(Duration timeToFirstToken, double tokensPerSecond) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions);
  }

  public SimOptions withOutputTokens(int outputTokens) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions);
  }

  public SimOptions withErrorRate(double errorRate) {
    return new SimOptions(host, port, timeToFirstToken, tokensPerSecond, outputTokens, errorRate,
        seed, embeddingDimensions);
  }
}
