package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class InstanceStatsTest {
  private final TestClock clock = new TestClock();
  private final InstanceStats stats = new InstanceStats(clock::nanoTime);

  @Test
  void countsCallsInFlightAndStarted() {
    stats.begin();
    stats.begin();
    stats.end();
    assertThat(stats.inFlight()).isEqualTo(1);
    assertThat(stats.started()).isEqualTo(2);
  }

  @Test
  void oldLatenciesFadeWithTimeNotWithTheNumberOfSamples() {
    assertThat(stats.latencyNanos()).isEmpty();
    stats.recordLatency(100);
    assertThat(stats.latencyNanos()).hasValue(100);

    // A burst of samples at one instant does not move the average.
    for (int i = 0; i < 100; i++) {
      stats.recordLatency(1_000);
    }
    assertThat(stats.latencyNanos().getAsDouble()).isCloseTo(100, within(1.0));

    // One decay time later a sample weighs 1 - 1/e.
    clock.advance(InstanceStats.DECAY);
    stats.recordLatency(1_100);
    assertThat(stats.latencyNanos().getAsDouble())
        .isCloseTo(100 + (1 - Math.exp(-1)) * 1_000, within(1.0));

    // After a long silence the next sample is nearly all of it.
    clock.advance(Duration.ofMinutes(5));
    stats.recordLatency(7);
    assertThat(stats.latencyNanos().getAsDouble()).isCloseTo(7, within(1.0));
  }
}
