package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one instance may take calls: its circuit breaker (Resilience4j), the outcome of its
 * last active probe, and its ramp back after recovering.
 *
 * <p>States, as the breaker's: {@code CLOSED} takes calls; {@code OPEN} (ejected) takes none;
 * {@code HALF_OPEN} takes {@value #TRIAL_CALLS} trial calls at a time and closes when most of
 * them succeed, or opens again. Transitions:
 * <ul>
 *   <li>CLOSED → OPEN: {@value #CONSECUTIVE_FAILURES} failures in a row; or at least half of the
 *       last {@value #WINDOW_CALLS} calls failing, once there were {@value #MINIMUM_CALLS}; or a
 *       connection that could not be made (the instance is unreachable).
 *   <li>OPEN → HALF_OPEN: on a {@link #tick() tick} after the ejection time, which doubles with
 *       each ejection from {@link #BASE_EJECTION} up to {@link #MAX_EJECTION} (back to the base
 *       after a minute closed), and only while the probe says up.
 *   <li>HALF_OPEN → CLOSED or OPEN: by the failure rate of the trial calls.
 * </ul>
 * A failure is a 5xx answer, a timeout or a broken connection; a 4xx answer is the caller's
 * mistake and counts as a success. After closing again the instance ramps up over
 * {@link #SLOW_START}: it is offered to the policy on a growing share of calls, from 10 % to all,
 * so that a least-loaded policy does not send it every call at once.
 *
 * <p>A probe that fails takes the instance out of rotation at once, whatever the breaker says,
 * until a probe succeeds.
 *
 * <p>OPEN → HALF_OPEN is driven by {@link #tick()} from the prober's thread, with the breaker's
 * own wait set beyond reach: Resilience4j takes a lock for that transition, which must not happen
 * on an event loop. The sliding window counts calls, lock-free, for the same reason (its
 * time-based variant takes a lock, or reads the system clock). Thread-safe; time comes from the
 * injected clock.
 */
public final class InstanceHealth {
  private static final Logger log = LoggerFactory.getLogger(InstanceHealth.class);

  static final int CONSECUTIVE_FAILURES = 5;
  static final float FAILURE_RATE_PERCENT = 50;
  static final int WINDOW_CALLS = 20;
  static final int MINIMUM_CALLS = 10;
  static final int TRIAL_CALLS = 3;
  static final Duration BASE_EJECTION = Duration.ofSeconds(2);
  static final Duration MAX_EJECTION = Duration.ofSeconds(30);
  static final Duration EJECTION_MEMORY = Duration.ofMinutes(1);
  static final Duration SLOW_START = Duration.ofSeconds(10);
  static final double SLOW_START_FLOOR = 0.1;

  private final String name;
  private final Clock clock;
  private final CircuitBreaker breaker;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile boolean probeUp = true;
  private volatile Instant openedAt = Instant.EPOCH;
  private volatile Duration ejection = BASE_EJECTION;
  private volatile Instant closedAt = Instant.EPOCH;
  private volatile Instant rampUntil = Instant.EPOCH;

  /** @param name names the instance in logs and in the breaker */
  public InstanceHealth(String name, Clock clock) {
    this.name = requireNonNull(name, "name");
    this.clock = requireNonNull(clock, "clock");
    this.breaker = CircuitBreaker.of(name, CircuitBreakerConfig.custom()
        .slidingWindow(WINDOW_CALLS, MINIMUM_CALLS,
            CircuitBreakerConfig.SlidingWindowType.COUNT_BASED,
            CircuitBreakerConfig.SlidingWindowSynchronizationStrategy.LOCK_FREE)
        .failureRateThreshold(FAILURE_RATE_PERCENT)
        .permittedNumberOfCallsInHalfOpenState(TRIAL_CALLS)
        .waitDurationInOpenState(Duration.ofDays(365)) // tick() ends OPEN, not the breaker
        .writableStackTraceEnabled(false)
        .clock(clock)
        .build());
    breaker.getEventPublisher().onStateTransition(event -> transitioned(
        event.getStateTransition().getFromState(), event.getStateTransition().getToState()));
  }

  private void transitioned(CircuitBreaker.State from, CircuitBreaker.State to) {
    Instant now = clock.instant();
    if (to == CircuitBreaker.State.OPEN) {
      if (from == CircuitBreaker.State.HALF_OPEN) {
        Duration doubled = ejection.multipliedBy(2);
        ejection = doubled.compareTo(MAX_EJECTION) > 0 ? MAX_EJECTION : doubled;
      } else if (Duration.between(closedAt, now).compareTo(EJECTION_MEMORY) > 0) {
        ejection = BASE_EJECTION;
      }
      openedAt = now;
      consecutiveFailures.set(0);
      log.warn("Instance {} ejected for {} ms", name, ejection.toMillis());
    } else if (to == CircuitBreaker.State.CLOSED) {
      closedAt = now;
      if (from == CircuitBreaker.State.HALF_OPEN) {
        rampUntil = now.plus(SLOW_START);
        log.info("Instance {} re-admitted; ramping up over {} s", name, SLOW_START.toSeconds());
      }
    } else if (to == CircuitBreaker.State.HALF_OPEN) {
      log.info("Instance {} on trial: {} calls at a time", name, TRIAL_CALLS);
    }
  }

  /** The breaker's state. */
  public CircuitBreaker.State state() {
    return breaker.getState();
  }

  /** Whether the last probe answered (true until a probe says otherwise). */
  public boolean probeUp() {
    return probeUp;
  }

  /**
   * Whether the instance may be offered to the policy for a call now: breaker closed, probe up,
   * and, while it ramps up after a recovery, on a growing share of calls.
   */
  public boolean admits(RandomGenerator random) {
    if (!probeUp || breaker.getState() != CircuitBreaker.State.CLOSED) {
      return false;
    }
    Instant until = rampUntil;
    if (until == Instant.EPOCH) {
      return true;
    }
    Instant now = clock.instant();
    if (!now.isBefore(until)) {
      rampUntil = Instant.EPOCH;
      return true;
    }
    double elapsed = 1 - (double) Duration.between(now, until).toMillis() / SLOW_START.toMillis();
    return random.nextDouble() < Math.max(SLOW_START_FLOOR, elapsed);
  }

  /**
   * Takes a trial permit when the instance is on trial ({@code HALF_OPEN}) and its probe is up;
   * a call that got one must end with {@link #onSuccess}, {@link #onFailure} or
   * {@link #releaseTrial}.
   */
  public boolean tryTrial() {
    return probeUp && breaker.getState() == CircuitBreaker.State.HALF_OPEN
        && breaker.tryAcquirePermission();
  }

  /** Gives back a trial permit of a call that ended without an outcome (cancelled). */
  public void releaseTrial() {
    breaker.releasePermission();
  }

  /** A call that the instance answered, well or with a 4xx, after {@code nanos}. */
  public void onSuccess(long nanos) {
    consecutiveFailures.set(0);
    breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
  }

  /** A call that failed at the instance (5xx, timeout, broken connection) after {@code nanos}. */
  public void onFailure(long nanos, Throwable failure) {
    breaker.onError(nanos, TimeUnit.NANOSECONDS, failure);
    if (consecutiveFailures.incrementAndGet() >= CONSECUTIVE_FAILURES
        && breaker.getState() == CircuitBreaker.State.CLOSED) {
      breaker.transitionToOpenState();
    }
  }

  /** A connection to the instance could not be made: it is ejected at once. */
  public void onUnreachable() {
    CircuitBreaker.State state = breaker.getState();
    if (state == CircuitBreaker.State.CLOSED || state == CircuitBreaker.State.HALF_OPEN) {
      breaker.transitionToOpenState();
    }
  }

  /** The outcome of an active probe. */
  public void probed(boolean up) {
    if (up != probeUp) {
      probeUp = up;
      if (up) {
        log.info("Instance {} answers its health probe again", name);
      } else {
        log.warn("Instance {} failed its health probe; no new calls until it answers", name);
      }
    }
  }

  /** Ends an ejection whose time is up, if the probe says up: the instance goes on trial. */
  public void tick() {
    if (breaker.getState() == CircuitBreaker.State.OPEN && probeUp
        && !clock.instant().isBefore(openedAt.plus(ejection))) {
      breaker.transitionToHalfOpenState();
    }
  }

  /** How long the current or next ejection lasts. */
  Duration ejection() {
    return ejection;
  }
}
