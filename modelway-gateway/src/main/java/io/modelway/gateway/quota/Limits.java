package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What one scope may use: calls and tokens per minute, and calls at once. An absent limit does
 * not limit. Immutable.
 *
 * @param requestsPerMinute calls admitted per one-minute window
 * @param tokensPerMinute prompt plus completion tokens per one-minute window, estimated at
 *     admission and corrected by the real usage when the call ends
 * @param maxConcurrent calls in flight at once
 */
public record Limits(OptionalLong requestsPerMinute, OptionalLong tokensPerMinute,
    OptionalInt maxConcurrent) {
  /**
   * The largest value a per-minute limit may have: ten billion, well under the one token a
   * nanosecond (60 billion a minute) that Bucket4j can refill.
   */
  static final long MAX = 10_000_000_000L;

  public static final Limits NONE = new Limits(OptionalLong.empty(), OptionalLong.empty(),
      OptionalInt.empty());

  public Limits {
    requireNonNull(requestsPerMinute, "requestsPerMinute");
    requireNonNull(tokensPerMinute, "tokensPerMinute");
    requireNonNull(maxConcurrent, "maxConcurrent");
    check("requests_per_minute", requestsPerMinute);
    check("tokens_per_minute", tokensPerMinute);
    if (maxConcurrent.isPresent() && maxConcurrent.getAsInt() < 1) {
      throw new IllegalArgumentException(
          "max_concurrent: " + maxConcurrent.getAsInt() + " (expected: >= 1)");
    }
  }

  private static void check(String name, OptionalLong value) {
    if (value.isPresent() && (value.getAsLong() < 1 || value.getAsLong() > MAX)) {
      throw new IllegalArgumentException(
          name + ": " + value.getAsLong() + " (expected: 1 to " + MAX + ")");
    }
  }

  /** Whether any limit is set. */
  public boolean any() {
    return requestsPerMinute.isPresent() || tokensPerMinute.isPresent() || maxConcurrent.isPresent();
  }
}
