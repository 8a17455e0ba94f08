package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one instance may take calls: its circuit breaker (Resilience4j), what its active
 * probes say, and its ramp back after recovering.
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
 * <p>Active probes take an instance out of rotation, whatever the breaker says, until a probe
 * succeeds or a call to it does; so that a busy gateway (whose probes answer late because its own
 * CPU is saturated) does not flap, a probe alone takes it out only when
 * <ul>
 *   <li>{@value #PROBE_FAILURES} probes in a row failed (no answer below 500 in time), and
 *   <li>no call to it succeeded in the last {@link #RECENT_SUCCESS} since its last failed call:
 *       with traffic, the calls themselves are the better evidence, and the breaker judges them.
 * </ul>
 * A probe's timeout widens with the probes' own latency: {@value #PROBE_TIMEOUT_FACTOR} × the
 * slowest of the last {@value #PROBE_SAMPLES} answered probes when that is above the configured
 * timeout, at most {@value #PROBE_TIMEOUT_CAP} × the configured one. A probe waits twice its
 * timeout (within that cap) for an answer: one that comes late fails the probe but is a sample,
 * so a gateway whose every answer turns late widens its timeout after one of them; an
 * unanswered probe is not a sample, so a hung instance cannot widen its own timeout.
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
  /** Failed probes in a row that take the instance out (without recent successful calls). */
  static final int PROBE_FAILURES = 3;
  /** How long a successful call outranks failing probes. */
  static final Duration RECENT_SUCCESS = Duration.ofSeconds(3);
  /** Answered probes whose latency widens the timeout. */
  static final int PROBE_SAMPLES = 20;
  /** The widened timeout: this many times the slowest recent answer… */
  static final int PROBE_TIMEOUT_FACTOR = 3;
  /** …and at most this many times the configured timeout. */
  static final int PROBE_TIMEOUT_CAP = 4;

  private final String name;
  private final Clock clock;
  private final CircuitBreaker breaker;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile boolean probeUp = true;
  private final AtomicInteger probeFailuresInARow = new AtomicInteger();
  private final AtomicLong probes = new AtomicLong();
  private final AtomicLong probeFailures = new AtomicLong();
  private final AtomicLong probeEjections = new AtomicLong();
  private final AtomicLong callEjections = new AtomicLong();
  /** Epoch millis of the last successful call since the last failed one; 0: none. */
  private volatile long lastSuccessMillis;
  private final long[] probeNanos = new long[PROBE_SAMPLES]; // guarded by itself
  private int probeSamples; // guarded by probeNanos
  private int nextSample; // guarded by probeNanos
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
      callEjections.incrementAndGet();
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

  /**
   * Whether probes let the instance take calls: false once they failed as the class comment
   * says, true again at the next successful probe or call.
   */
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
    lastSuccessMillis = clock.millis();
    if (!probeUp) {
      probeUp = true;
      log.info("Instance {} answers calls again; back in rotation despite its probe", name);
    }
    breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
  }

  /** A call that failed at the instance (5xx, timeout, broken connection) after {@code nanos}. */
  public void onFailure(long nanos, Throwable failure) {
    lastSuccessMillis = 0;
    breaker.onError(nanos, TimeUnit.NANOSECONDS, failure);
    if (consecutiveFailures.incrementAndGet() >= CONSECUTIVE_FAILURES
        && breaker.getState() == CircuitBreaker.State.CLOSED) {
      breaker.transitionToOpenState();
    }
  }

  /** A connection to the instance could not be made: it is ejected at once. */
  public void onUnreachable() {
    lastSuccessMillis = 0;
    CircuitBreaker.State state = breaker.getState();
    if (state == CircuitBreaker.State.CLOSED || state == CircuitBreaker.State.HALF_OPEN) {
      breaker.transitionToOpenState();
    }
  }

  /**
   * A probe sent with {@code timeout} (at least its {@link #probeTimeout}) answered after {@code
   * nanos}, with a status below 500 when {@code up}. It succeeded when up and in time. An answer
   * later than {@code timeout} (but within the {@link #probeDeadline}) fails, yet its latency is
   * kept, so that the timeout widens when every answer is late, as on a saturated gateway.
   */
  public void probeAnswered(boolean up, long nanos, Duration timeout) {
    boolean inTime = nanos <= timeout.toNanos();
    synchronized (probeNanos) {
      probeNanos[nextSample] = nanos;
      nextSample = (nextSample + 1) % PROBE_SAMPLES;
      probeSamples = Math.min(probeSamples + 1, PROBE_SAMPLES);
    }
    probed(up && inTime);
  }

  /** A probe got no answer within its {@link #probeDeadline}, or its connection failed. */
  public void probeUnanswered() {
    probed(false);
  }

  /** Not probed, being alone in its pools: as if a probe had succeeded. */
  public void unprobed() {
    probeFailuresInARow.set(0);
    if (!probeUp) {
      probeUp = true;
      log.info("Instance {} is alone in its pools; not probed", name);
    }
  }

  private void probed(boolean up) {
    probes.incrementAndGet();
    if (up) {
      probeFailuresInARow.set(0);
      if (!probeUp) {
        probeUp = true;
        log.info("Instance {} answers its health probe again", name);
      }
      return;
    }
    probeFailures.incrementAndGet();
    int inARow = probeFailuresInARow.incrementAndGet();
    if (!probeUp || inARow < PROBE_FAILURES) {
      return;
    }
    long since = clock.millis() - lastSuccessMillis;
    if (lastSuccessMillis != 0 && since < RECENT_SUCCESS.toMillis()) {
      log.debug("Instance {} failed {} probes in a row but answered a call {} ms ago: kept",
          name, inARow, since);
      return;
    }
    probeUp = false;
    probeEjections.incrementAndGet();
    log.warn("Instance {} failed {} health probes in a row; no new calls until it answers one",
        name, inARow);
  }

  /**
   * The timeout of the next probe: {@code configured}, or {@value #PROBE_TIMEOUT_FACTOR} × the
   * slowest of the last answered probes when that is longer, at most {@value #PROBE_TIMEOUT_CAP}
   * × {@code configured}.
   */
  public Duration probeTimeout(Duration configured) {
    long slowest = 0;
    synchronized (probeNanos) {
      for (int i = 0; i < probeSamples; i++) {
        slowest = Math.max(slowest, probeNanos[i]);
      }
    }
    long widened = Math.min(slowest * PROBE_TIMEOUT_FACTOR,
        configured.toNanos() * PROBE_TIMEOUT_CAP);
    return widened > configured.toNanos() ? Duration.ofNanos(widened) : configured;
  }

  /**
   * How long a probe waits for an answer before it gives up: twice its {@link #probeTimeout},
   * at most {@value #PROBE_TIMEOUT_CAP} × {@code configured}. An answer after the timeout but
   * before this fails the probe and widens the timeout.
   */
  public Duration probeDeadline(Duration configured) {
    Duration twice = probeTimeout(configured).multipliedBy(2);
    Duration cap = configured.multipliedBy(PROBE_TIMEOUT_CAP);
    return twice.compareTo(cap) < 0 ? twice : cap;
  }

  /** Probes that ended, however (not counting the instance's time alone in its pools). */
  public long probes() {
    return probes.get();
  }

  /** Probes that failed, taken out of rotation or not. */
  public long probeFailures() {
    return probeFailures.get();
  }

  /** Times its probes took it out of rotation. */
  public long probeEjections() {
    return probeEjections.get();
  }

  /**
   * Times its breaker opened on its calls' failures (ejections by passive health, failed trials
   * included).
   */
  public long callEjections() {
    return callEjections.get();
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
