package io.modelway.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ReportTest {
  private static final long SECOND = 1_000_000_000L;

  /** A round of 1000 tokens in {@code seconds}, with the given CPU seconds of driver and server. */
  private static RoundResult round(Mode mode, int round, double seconds, double driverCpu, double serverCpu) {
    return new RoundResult(mode, round, 8, 1000, (long) (seconds * SECOND),
        OptionalLong.of((long) (driverCpu * SECOND)), OptionalLong.of((long) (serverCpu * SECOND)),
        OptionalLong.of((long) ((driverCpu + serverCpu + 0.25 * seconds) * SECOND)));
  }

  @Test
  void medianTakesTheMiddleValueOrTheMeanOfTheMiddleTwo() {
    assertThat(Report.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
    assertThat(Report.median(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(2.5);
    assertThat(Report.median(List.of())).isNaN();
  }

  @Test
  void countsTokensPerSecondOfWallTimeAndCpuPerToken() {
    RoundResult r = round(Mode.API_STREAM, 1, 0.5, 0.1, 0.8);

    assertThat(r.tokensPerSecond()).isCloseTo(2000.0, within(1e-9));
    assertThat(r.driverCpuMicrosPerToken()).isCloseTo(100.0, within(1e-9));
    assertThat(r.serverCpuMicrosPerToken()).isCloseTo(800.0, within(1e-9));
    assertThat(r.otherCores()).isCloseTo(0.25, within(1e-6));
  }

  @Test
  void ratioIsTheApiMedianOverTheDirectMedianOfTheSameRun() {
    // direct: 1000, 2000, 4000 tokens/s (median 2000); api-stream: 500, 1000, 1800 (median 1000).
    Report report = new Report(List.of(Mode.DIRECT, Mode.API_STREAM), List.of(
        round(Mode.DIRECT, 1, 1.0, 1, 0), round(Mode.API_STREAM, 1, 2.0, 0, 1),
        round(Mode.DIRECT, 2, 0.5, 1, 0), round(Mode.API_STREAM, 2, 1.0, 0, 1),
        round(Mode.DIRECT, 3, 0.25, 1, 0), round(Mode.API_STREAM, 3, 1 / 1.8, 0, 1)));

    assertThat(report.tokensPerSecond(Mode.DIRECT)).isCloseTo(2000.0, within(1e-9));
    assertThat(report.ratio(Mode.API_STREAM)).hasValueCloseTo(0.5, within(1e-9));
    assertThat(report.pairedRatios(Mode.API_STREAM)).satisfiesExactly(
        r -> assertThat(r).isCloseTo(0.5, within(1e-9)),
        r -> assertThat(r).isCloseTo(0.5, within(1e-9)),
        r -> assertThat(r).isCloseTo(0.45, within(1e-9)));
    assertThat(report.targetMet()).isFalse();
    assertThat(report.markdown()).contains("api-stream / direct: **0.50** (target ≥ 0.90: **not met**)");
  }

  @Test
  void meetsTheTargetOnlyWhenEveryApiModeReachesIt() {
    Report report = new Report(List.of(Mode.DIRECT, Mode.API_STREAM, Mode.API_WHOLE), List.of(
        round(Mode.DIRECT, 1, 1.0, 1, 0), round(Mode.API_STREAM, 1, 1.0 / 0.95, 0, 1),
        round(Mode.API_WHOLE, 1, 1.0 / 0.9, 0, 1)));

    assertThat(report.ratio(Mode.API_WHOLE)).hasValueCloseTo(0.9, within(1e-9));
    assertThat(report.targetMet()).isTrue();
    assertThat(new Report(List.of(Mode.API_STREAM), List.of(round(Mode.API_STREAM, 1, 1, 0, 1)))
        .targetMet()).isFalse();
  }
}
