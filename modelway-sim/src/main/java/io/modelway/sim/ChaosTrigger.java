package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * A moment at which a simulated server switches to a chaos mode on its own: after it has received
 * a number of requests, or a time after it started. Each trigger fires once.
 */
public sealed interface ChaosTrigger {

  /** The mode the server switches to; never {@link ChaosMode#NORMAL}. */
  ChaosMode mode();

  /** Switches when request number {@code requests + 1} arrives: the first {@code requests} are served as usual. */
  static ChaosTrigger afterRequests(ChaosMode mode, long requests) {
    return new AfterRequests(mode, requests);
  }

  /** Switches {@code time} after the server started. */
  static ChaosTrigger afterTime(ChaosMode mode, Duration time) {
    return new AfterTime(mode, time);
  }

  /**
   * Counted in requests to the generation and embedding endpoints, valid or not.
   *
   * @param requests how many are served as usual, {@code >= 0}
   */
  record AfterRequests(ChaosMode mode, long requests) implements ChaosTrigger {
    public AfterRequests {
      checkMode(mode);
      if (requests < 0) {
        throw new IllegalArgumentException(
            mode.wireName() + "-after: " + requests + " (expected: >= 0 requests)");
      }
    }
  }

  /** @param time after start, {@code >= 0} */
  record AfterTime(ChaosMode mode, Duration time) implements ChaosTrigger {
    public AfterTime {
      checkMode(mode);
      requireNonNull(time, "time");
      if (time.isNegative()) {
        throw new IllegalArgumentException(
            mode.wireName() + "-after: " + time + " (expected: >= 0)");
      }
    }
  }

  private static void checkMode(ChaosMode mode) {
    requireNonNull(mode, "mode");
    if (mode == ChaosMode.NORMAL) {
      throw new IllegalArgumentException("chaos trigger: normal (expected: hang, fail or die)");
    }
  }
}
