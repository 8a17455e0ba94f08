package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * What this gateway knows of one instance's load and speed from its own calls: the calls in
 * flight, the calls started, and a moving average of the time to the first byte of an answer's
 * body (for a stream, the first token: its TTFT).
 *
 * <p>The average decays with time rather than per sample (as Finagle's and Linkerd's EWMA
 * balancers do), so that an instance's old samples fade within {@link #DECAY} whether it is
 * called often or seldom: each sample weighs {@code 1 − e^(−Δt/τ)}, Δt being the time since the
 * previous one. Thread-safe; the ticker is injected so tests move time.
 */
public final class InstanceStats {
  /** τ of the moving average. */
  static final Duration DECAY = Duration.ofSeconds(5);

  private final LongSupplier ticker;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final LongAdder started = new LongAdder();
  private double averageNanos = Double.NaN; // guarded by this
  private long lastSample; // guarded by this

  /** @param ticker nanoseconds of a monotonic clock, such as {@code System::nanoTime} */
  public InstanceStats(LongSupplier ticker) {
    this.ticker = requireNonNull(ticker, "ticker");
  }

  /** Calls in flight from this gateway. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Calls started since this gateway began routing to the instance. */
  public long started() {
    return started.sum();
  }

  /** A call starts. */
  public void begin() {
    inFlight.incrementAndGet();
    started.increment();
  }

  /**
   * A call starts if fewer than {@code limit} are in flight ({@code limit} 0: always), atomically.
   *
   * @return whether it started
   */
  public boolean tryBegin(int limit) {
    for (;;) {
      int now = inFlight.get();
      if (limit > 0 && now >= limit) {
        return false;
      }
      if (inFlight.compareAndSet(now, now + 1)) {
        started.increment();
        return true;
      }
    }
  }

  /** A call that {@link #begin() began} ends, however it ends. */
  public void end() {
    inFlight.decrementAndGet();
  }

  /** Records the time from sending a call to the first byte of its answer's body. */
  public synchronized void recordLatency(long nanos) {
    long now = ticker.getAsLong();
    if (Double.isNaN(averageNanos)) {
      averageNanos = nanos;
    } else {
      double weight = 1 - Math.exp(-(double) Math.max(0, now - lastSample) / DECAY.toNanos());
      averageNanos += weight * (nanos - averageNanos);
    }
    lastSample = now;
  }

  /** The moving average of the time to the first byte, in nanoseconds; empty before a sample. */
  public synchronized OptionalDouble latencyNanos() {
    return Double.isNaN(averageNanos) ? OptionalDouble.empty() : OptionalDouble.of(averageNanos);
  }

  /** The ticker this instance's times are read from. */
  LongSupplier ticker() {
    return ticker;
  }
}
