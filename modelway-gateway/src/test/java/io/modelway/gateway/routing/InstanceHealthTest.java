package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;
import java.io.IOException;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InstanceHealthTest {
  private static final IOException BROKEN = new IOException("connection reset");
  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private final TestClock clock = new TestClock();
  private final InstanceHealth health = new InstanceHealth("test", clock);
  private final Random random = new Random(17);

  private void fail(int times) {
    for (int i = 0; i < times; i++) {
      health.onFailure(1_000_000, BROKEN);
    }
  }

  private int admittedOf(int tries) {
    int admitted = 0;
    for (int i = 0; i < tries; i++) {
      if (health.admits(random)) {
        admitted++;
      }
    }
    return admitted;
  }

  @Test
  void ejectsInstanceAfterConsecutiveFailures() {
    fail(InstanceHealth.CONSECUTIVE_FAILURES - 1);
    health.onSuccess(1_000_000);
    fail(InstanceHealth.CONSECUTIVE_FAILURES - 1);
    assertThat(health.state()).isEqualTo(State.CLOSED);
    assertThat(health.admits(random)).isTrue();

    fail(1);
    assertThat(health.state()).isEqualTo(State.OPEN);
    assertThat(health.admits(random)).isFalse();
    assertThat(health.tryTrial()).isFalse();
  }

  @Test
  void ejectsInstanceWhenHalfTheCallsOfTheWindowFail() {
    for (int i = 0; i < InstanceHealth.MINIMUM_CALLS / 2 - 1; i++) {
      fail(1);
      health.onSuccess(1_000_000);
    }
    assertThat(health.state()).isEqualTo(State.CLOSED);
    fail(1);
    health.onSuccess(1_000_000);
    assertThat(health.state()).isEqualTo(State.OPEN);
  }

  @Test
  void failuresThatLeftTheWindowAreForgotten() {
    for (int i = 0; i < InstanceHealth.MINIMUM_CALLS / 2 - 1; i++) {
      fail(1);
      health.onSuccess(1_000_000);
    }
    for (int i = 0; i < InstanceHealth.WINDOW_CALLS; i++) {
      health.onSuccess(1_000_000);
    }
    fail(InstanceHealth.CONSECUTIVE_FAILURES - 1);
    assertThat(health.state()).isEqualTo(State.CLOSED);
  }

  @Test
  void reAdmitsAfterTheEjectionThroughTrialCallsThenRampsUp() {
    health.onUnreachable();
    assertThat(health.state()).isEqualTo(State.OPEN);

    clock.advance(InstanceHealth.BASE_EJECTION.minusMillis(1));
    health.tick();
    assertThat(health.state()).isEqualTo(State.OPEN);
    clock.advance(Duration.ofMillis(1));
    health.tick();
    assertThat(health.state()).isEqualTo(State.HALF_OPEN);
    assertThat(health.admits(random)).as("on trial: trial calls only").isFalse();

    for (int i = 0; i < InstanceHealth.TRIAL_CALLS; i++) {
      assertThat(health.tryTrial()).isTrue();
    }
    assertThat(health.tryTrial()).as("all trial permits taken").isFalse();
    for (int i = 0; i < InstanceHealth.TRIAL_CALLS; i++) {
      health.onSuccess(1_000_000);
    }
    assertThat(health.state()).isEqualTo(State.CLOSED);

    // Ramp: about a tenth of the calls at first, half midway, all at the end.
    assertThat(admittedOf(1000)).isBetween(60, 140);
    clock.advance(InstanceHealth.SLOW_START.dividedBy(2));
    assertThat(admittedOf(1000)).isBetween(430, 570);
    clock.advance(InstanceHealth.SLOW_START.dividedBy(2));
    assertThat(admittedOf(1000)).isEqualTo(1000);
  }

  @Test
  void aFailedTrialEjectsAgainForTwiceAsLong() {
    health.onUnreachable();
    clock.advance(InstanceHealth.BASE_EJECTION);
    health.tick();
    assertThat(health.tryTrial()).isTrue();
    health.onUnreachable();
    assertThat(health.state()).isEqualTo(State.OPEN);
    assertThat(health.ejection()).isEqualTo(InstanceHealth.BASE_EJECTION.multipliedBy(2));

    clock.advance(InstanceHealth.BASE_EJECTION);
    health.tick();
    assertThat(health.state()).isEqualTo(State.OPEN);
    clock.advance(InstanceHealth.BASE_EJECTION);
    health.tick();
    assertThat(health.state()).isEqualTo(State.HALF_OPEN);
  }

  @Test
  void trialCallsThatMostlyFailEjectAgain() {
    health.onUnreachable();
    clock.advance(InstanceHealth.BASE_EJECTION);
    health.tick();
    for (int i = 0; i < InstanceHealth.TRIAL_CALLS; i++) {
      assertThat(health.tryTrial()).isTrue();
    }
    health.onSuccess(1_000_000);
    fail(InstanceHealth.TRIAL_CALLS - 1);
    assertThat(health.state()).isEqualTo(State.OPEN);
  }

  @Test
  void aCancelledTrialGivesItsPermitBack() {
    health.onUnreachable();
    clock.advance(InstanceHealth.BASE_EJECTION);
    health.tick();
    for (int i = 0; i < InstanceHealth.TRIAL_CALLS; i++) {
      assertThat(health.tryTrial()).isTrue();
    }
    health.releaseTrial();
    assertThat(health.tryTrial()).isTrue();
  }

  private void probesFail(int times) {
    for (int i = 0; i < times; i++) {
      health.probeUnanswered();
    }
  }

  @Test
  void aFailingProbeKeepsTheInstanceOutAndPostponesItsTrial() {
    probesFail(InstanceHealth.PROBE_FAILURES);
    assertThat(health.state()).isEqualTo(State.CLOSED);
    assertThat(health.admits(random)).isFalse();

    health.onUnreachable();
    clock.advance(InstanceHealth.MAX_EJECTION);
    health.tick();
    assertThat(health.state()).as("no trial while the probe fails").isEqualTo(State.OPEN);

    health.probeAnswered(true, 1_000_000, TIMEOUT);
    health.tick();
    assertThat(health.state()).isEqualTo(State.HALF_OPEN);
    assertThat(health.tryTrial()).isTrue();
  }

  @Test
  void slowOrFailedProbesBetweenSuccessfulOnesNeverTakeTheInstanceOut() {
    for (int i = 0; i < 100; i++) {
      probesFail(InstanceHealth.PROBE_FAILURES - 1);
      health.probeAnswered(true, 450_000_000, TIMEOUT);
      assertThat(health.probeUp()).isTrue();
      clock.advance(Duration.ofSeconds(1));
    }
    assertThat(health.admits(random)).isTrue();
    assertThat(health.probeFailures()).isEqualTo(100L * (InstanceHealth.PROBE_FAILURES - 1));
    assertThat(health.probeEjections()).isZero();
  }

  @Test
  void takesTheInstanceOutAfterConsecutiveProbeFailuresAndBackAtTheFirstAnswer() {
    probesFail(InstanceHealth.PROBE_FAILURES - 1);
    assertThat(health.probeUp()).isTrue();
    health.probeAnswered(false, 1_000_000, TIMEOUT); // a 5xx answer fails as a timeout does
    assertThat(health.probeUp()).isFalse();
    assertThat(health.admits(random)).isFalse();
    assertThat(health.probeEjections()).isEqualTo(1);

    probesFail(5);
    assertThat(health.probeEjections()).as("out once, however long").isEqualTo(1);
    health.probeAnswered(true, 1_000_000, TIMEOUT);
    assertThat(health.probeUp()).isTrue();
    assertThat(health.admits(random)).isTrue();
  }

  @Test
  void aRecentSuccessfulCallOutranksFailingProbes() {
    health.onSuccess(1_000_000);
    clock.advance(InstanceHealth.RECENT_SUCCESS.minusMillis(1));
    probesFail(10 * InstanceHealth.PROBE_FAILURES);
    assertThat(health.probeUp()).as("calls succeed: the probes alone do not judge").isTrue();
    assertThat(health.probeEjections()).isZero();

    clock.advance(Duration.ofMillis(1));
    probesFail(1);
    assertThat(health.probeUp()).as("no successful call for a while").isFalse();
  }

  @Test
  void aFailedCallLeavesTheProbesToJudge() {
    health.onSuccess(1_000_000);
    health.onFailure(1_000_000, BROKEN);
    probesFail(InstanceHealth.PROBE_FAILURES);
    assertThat(health.probeUp()).isFalse();
  }

  @Test
  void aSuccessfulCallBringsAnInstanceItsProbesTookOutBack() {
    probesFail(InstanceHealth.PROBE_FAILURES);
    assertThat(health.admits(random)).isFalse();
    health.onSuccess(1_000_000); // a call sent while every instance was out
    assertThat(health.probeUp()).isTrue();
    assertThat(health.admits(random)).isTrue();
  }

  @Test
  void aDeadInstanceWithoutTrafficIsTakenOutByItsProbesAlone() {
    health.onSuccess(1_000_000);
    clock.advance(Duration.ofMinutes(1)); // long idle, then it dies
    probesFail(InstanceHealth.PROBE_FAILURES);
    assertThat(health.probeUp()).isFalse();
  }

  @Test
  void aLateAnswerFailsTheProbeButWidensTheTimeoutSoLateAnswersNeverEject() {
    Duration configured = Duration.ofMillis(100);
    assertThat(health.probeDeadline(configured)).isEqualTo(Duration.ofMillis(200));
    // A saturated gateway: every answer late.
    health.probeAnswered(true, 120_000_000, health.probeTimeout(configured));
    assertThat(health.probeFailures()).as("late: failed").isEqualTo(1);
    assertThat(health.probeTimeout(configured)).isEqualTo(Duration.ofMillis(360));
    assertThat(health.probeDeadline(configured)).as("at most 4 × configured")
        .isEqualTo(Duration.ofMillis(400));
    for (int i = 0; i < 50; i++) {
      health.probeAnswered(true, 120_000_000, health.probeTimeout(configured));
    }
    assertThat(health.probeFailures()).isEqualTo(1);
    assertThat(health.probeEjections()).isZero();
  }

  @Test
  void theProbeTimeoutWidensWithSlowAnswersButNotWithUnansweredProbes() {
    Duration configured = TIMEOUT;
    assertThat(health.probeTimeout(configured)).isEqualTo(configured);
    health.probeAnswered(true, 100_000_000, configured);
    assertThat(health.probeTimeout(configured)).as("3 × 100ms < 500ms").isEqualTo(configured);
    health.probeAnswered(true, 300_000_000, TIMEOUT);
    assertThat(health.probeTimeout(configured)).isEqualTo(Duration.ofMillis(900));
    probesFail(2);
    assertThat(health.probeTimeout(configured)).isEqualTo(Duration.ofMillis(900));
    health.probeAnswered(true, 5_000_000_000L, TIMEOUT);
    assertThat(health.probeTimeout(configured)).as("at most 4 × configured")
        .isEqualTo(configured.multipliedBy(InstanceHealth.PROBE_TIMEOUT_CAP));

    for (int i = 0; i < InstanceHealth.PROBE_SAMPLES; i++) {
      health.probeAnswered(true, 10_000_000, TIMEOUT);
    }
    assertThat(health.probeTimeout(configured)).as("slow answers age out").isEqualTo(configured);
  }
}
