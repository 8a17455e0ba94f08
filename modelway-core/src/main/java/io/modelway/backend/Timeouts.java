package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The deadlines of one call to a backend.
 *
 * @param connect to open the TCP (and TLS) connection
 * @param firstByte the longest wait for a byte of the answer: after the request went out, and
 *     then between two reads (for a stream: until the first token, and any stall after it)
 * @param total from sending the request until the last byte of the answer
 */
public record Timeouts(Duration connect, Duration firstByte, Duration total) {
  public static final Timeouts DEFAULT =
      new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofMinutes(10));

  public Timeouts {
    requireNonNull(connect, "connect");
    requireNonNull(firstByte, "firstByte");
    requireNonNull(total, "total");
    requirePositive("connect", connect);
    requirePositive("first-byte", firstByte);
    requirePositive("total", total);
    if (firstByte.compareTo(total) > 0) {
      throw new IllegalArgumentException(
          "first-byte: " + firstByte.toString().substring(2).toLowerCase()
              + " (expected: <= total " + total.toString().substring(2).toLowerCase() + ")");
    }
  }

  private static void requirePositive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(
          name + ": " + d.toString().substring(2).toLowerCase() + " (expected: > 0)");
    }
  }
}
