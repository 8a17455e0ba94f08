package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The deadlines of one call to a backend, each measured from the moment the call is sent.
 *
 * @param connect to open the TCP (and TLS) connection
 * @param firstByte until the first byte of the response body; for a stream, the first token
 * @param total until the last byte of the response
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
