package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Deadlines of one call that override the backend's own {@link Timeouts} (a model's deadlines
 * over those of the backends that serve it). Each absent part leaves the backend's own value.
 *
 * @param connect to open the connection
 * @param firstByte the longest wait for a byte of the answer, as {@link Timeouts#firstByte()}
 * @param endsAtNanos the moment, on {@link System#nanoTime()}, by which the whole answer must be
 *     in: one deadline for every attempt of a call (retries, a stream's continuation elsewhere);
 *     a backend's own total still applies when it ends sooner
 */
public record Deadlines(Optional<Duration> connect, Optional<Duration> firstByte,
    OptionalLong endsAtNanos) {
  /** No override: every backend's own timeouts. */
  public static final Deadlines NONE =
      new Deadlines(Optional.empty(), Optional.empty(), OptionalLong.empty());

  public Deadlines {
    requireNonNull(connect, "connect");
    requireNonNull(firstByte, "firstByte");
    requireNonNull(endsAtNanos, "endsAtNanos");
    connect.ifPresent(d -> requirePositive("connect", d));
    firstByte.ifPresent(d -> requirePositive("firstByte", d));
  }

  /**
   * The timeouts of a call sent at {@code nowNanos} to a backend whose own are {@code own}, or
   * empty when the end has passed already.
   */
  public Optional<Timeouts> over(Timeouts own, long nowNanos) {
    requireNonNull(own, "own");
    Duration total = own.total();
    if (endsAtNanos.isPresent()) {
      long left = endsAtNanos.getAsLong() - nowNanos;
      if (left <= 0) {
        return Optional.empty();
      }
      if (left < total.toNanos()) {
        total = Duration.ofNanos(left);
      }
    }
    Duration first = firstByte.orElse(own.firstByte());
    if (first.compareTo(total) > 0) {
      first = total;
    }
    return Optional.of(new Timeouts(connect.orElse(own.connect()), first, total));
  }

  private static void requirePositive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
    }
  }
}
