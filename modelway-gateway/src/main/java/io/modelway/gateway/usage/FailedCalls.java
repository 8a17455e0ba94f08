package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One log line per failed call — a 4xx other than the client's own cancel, or a 5xx — with its
 * request id, status, model, backend, tenant and reason: INFO for 4xx, WARN for 5xx.
 *
 * <p>A flood of failures (a client retrying a bad key in a loop, a backend down under load) must
 * not fill the disk, so lines pass a token bucket (Bucket4j) of {@link #PER_SECOND} a second
 * with a burst of as many; the calls it holds back are counted, and the next line that passes is
 * preceded by one WARN line saying how many were not logged and over how long. The ledger and
 * the {@code modelway.requests} metric still count every call. Thread-safe.
 */
public final class FailedCalls {
  /** Lines a second, and the burst, before failed calls are counted instead of logged. */
  public static final long PER_SECOND = 20;
  private static final int MAX_REASON = 300;
  private static final Logger log = LoggerFactory.getLogger(FailedCalls.class);

  private final Bucket bucket;
  private final TimeMeter time;
  private final BiConsumer<Level, String> out;
  private final AtomicLong held = new AtomicLong();
  private final AtomicLong heldSince = new AtomicLong();

  private FailedCalls(TimeMeter time, BiConsumer<Level, String> out) {
    this.time = requireNonNull(time, "time");
    this.out = requireNonNull(out, "out");
    this.bucket = Bucket.builder().withCustomTimePrecision(time)
        .addLimit(Bandwidth.builder().capacity(PER_SECOND)
            .refillGreedy(PER_SECOND, Duration.ofSeconds(1)).build())
        .build();
  }

  /** To this class's logger, on the system's clock. */
  public static FailedCalls logging() {
    return new FailedCalls(TimeMeter.SYSTEM_MILLISECONDS,
        (level, line) -> log.atLevel(level).log(line));
  }

  /** To {@code out}, on {@code time}: for tests. */
  static FailedCalls to(TimeMeter time, BiConsumer<Level, String> out) {
    return new FailedCalls(time, out);
  }

  /** Whether a call that ended with {@code status} and {@code outcome} is a failure to log. */
  static boolean isFailure(int status, String outcome) {
    return status >= 400 && !outcome.equals("cancelled");
  }

  /**
   * Logs the call, or counts it when the bucket is empty.
   *
   * @param model the model asked for; empty when the request did not get that far
   * @param backend the backend or instance chosen; empty when none was
   */
  public void failed(String requestId, int status, String model, String backend, String tenant,
      String reason) {
    if (!bucket.tryConsume(1)) {
      if (held.getAndIncrement() == 0) {
        heldSince.set(time.currentTimeNanos());
      }
      return;
    }
    long notLogged = held.getAndSet(0);
    if (notLogged > 0) {
      Duration over = Duration.ofNanos(time.currentTimeNanos() - heldSince.get());
      out.accept(Level.WARN, notLogged + " more failed calls not logged in the last "
          + Math.max(1, (over.toMillis() + 999) / 1000) + " s (at most " + PER_SECOND
          + " lines a second)");
    }
    out.accept(status >= 500 ? Level.WARN : Level.INFO, "call failed: request_id=" + requestId
        + " status=" + status + " model=" + orDash(model) + " backend=" + orDash(backend)
        + " tenant=" + orDash(tenant) + " reason=\"" + quoted(reason) + "\"");
  }

  private static String orDash(String value) {
    return value.isEmpty() ? "-" : value;
  }

  private static String quoted(String reason) {
    String oneLine = reason.replace('\n', ' ').replace('\r', ' ').replace("\"", "\\\"");
    return oneLine.length() <= MAX_REASON ? oneLine : oneLine.substring(0, MAX_REASON) + "…";
  }
}
