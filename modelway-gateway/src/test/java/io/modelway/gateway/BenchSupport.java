package io.modelway.gateway;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What the load generators of bench/ ({@code routing.RoutingBench}, {@code
 * scheduling.SaturationBench}) share: their JSON output, percentiles and pacing. JDK only, so
 * that the scripts compile them with {@code javac} alone.
 */
public final class BenchSupport {
  private BenchSupport() {}

  /** Appends {@code "name":value,} to {@code json}; a double as {@link #fmt}. */
  public static void field(StringBuilder json, String name, Object value) {
    String text = value instanceof Double d ? fmt(d) : String.valueOf(value);
    json.append('"').append(name).append("\":").append(text).append(',');
  }

  /** {@code d} with 3 decimals, or {@code null} when it is NaN. */
  public static String fmt(double d) {
    return Double.isNaN(d) ? "null" : String.format(Locale.ROOT, "%.3f", d);
  }

  /** The nearest-rank percentile of sorted values. */
  public static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
  }

  /** A number's text with {@code digits} decimals; any other text as it is. */
  public static String round(String value, int digits) {
    try {
      return String.format(Locale.ROOT, "%." + digits + "f", Double.parseDouble(value));
    } catch (NumberFormatException e) {
      return value;
    }
  }

  /** Sleeps until {@link System#nanoTime()} reaches {@code nanoTime}; returns if interrupted. */
  public static void sleepUntil(long nanoTime) {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
