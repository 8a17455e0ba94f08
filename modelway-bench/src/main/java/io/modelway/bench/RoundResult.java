package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import java.util.OptionalLong;

/**
 * One measured (or warm-up) round of one mode.
 *
 * @param round 1-based; 0 for warm-up rounds
 * @param requests completions generated
 * @param tokens completion tokens generated, summed over the completions
 * @param wallNanos from releasing the clients to the last completion's end
 * @param driverCpuNanos CPU time of the driver's JVM during the round (for the direct mode, the
 *     engine's work; for the API modes, the HTTP clients'), when known
 * @param serverCpuNanos CPU time of the Modelway process during the round, when known
 */
record RoundResult(Mode mode, int round, int requests, long tokens, long wallNanos,
    OptionalLong driverCpuNanos, OptionalLong serverCpuNanos) {
  RoundResult {
    requireNonNull(mode, "mode");
    requireNonNull(driverCpuNanos, "driverCpuNanos");
    requireNonNull(serverCpuNanos, "serverCpuNanos");
    if (wallNanos <= 0) {
      throw new IllegalArgumentException("wallNanos: " + wallNanos + " (expected: > 0)");
    }
  }

  /** Completion tokens per second of wall time, over all clients. */
  double tokensPerSecond() {
    return tokens * 1e9 / wallNanos;
  }

  /** Driver CPU microseconds per completion token; NaN when unknown or no token was made. */
  double driverCpuMicrosPerToken() {
    return perToken(driverCpuNanos);
  }

  /** Server CPU microseconds per completion token; NaN when unknown or no token was made. */
  double serverCpuMicrosPerToken() {
    return perToken(serverCpuNanos);
  }

  private double perToken(OptionalLong nanos) {
    return nanos.isPresent() && tokens > 0 ? nanos.getAsLong() / 1e3 / tokens : Double.NaN;
  }
}
