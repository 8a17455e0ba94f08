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
 * @param machineCpuNanos busy time of the whole machine (all processes, all CPUs) during the
 *     round, when known
 */
record RoundResult(Mode mode, int round, int requests, long tokens, long wallNanos,
    OptionalLong driverCpuNanos, OptionalLong serverCpuNanos, OptionalLong machineCpuNanos) {
  RoundResult {
    requireNonNull(mode, "mode");
    requireNonNull(driverCpuNanos, "driverCpuNanos");
    requireNonNull(serverCpuNanos, "serverCpuNanos");
    requireNonNull(machineCpuNanos, "machineCpuNanos");
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

  /**
   * CPUs' worth of time that processes other than the driver and the server kept busy during the
   * round, on average (0.5: half a core); NaN when unknown. On a shared machine a round with a
   * high value measured the neighbours as much as the benchmark.
   */
  double otherCores() {
    if (machineCpuNanos.isEmpty() || driverCpuNanos.isEmpty() || serverCpuNanos.isEmpty()) {
      return Double.NaN;
    }
    long others = machineCpuNanos.getAsLong() - driverCpuNanos.getAsLong() - serverCpuNanos.getAsLong();
    return Math.max(0, others) / (double) wallNanos;
  }

  private double perToken(OptionalLong nanos) {
    return nanos.isPresent() && tokens > 0 ? nanos.getAsLong() / 1e3 / tokens : Double.NaN;
  }
}
