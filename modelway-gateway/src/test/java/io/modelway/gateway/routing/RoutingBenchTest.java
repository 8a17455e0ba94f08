package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.BenchSupport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark's arithmetic and report, which the results in bench/README.md rest on. */
class RoutingBenchTest {

  @Test
  void percentilesAreNearestRank() {
    double[] sorted = new double[100];
    for (int i = 0; i < 100; i++) {
      sorted[i] = i + 1;
    }
    assertThat(BenchSupport.percentile(sorted, 50)).isEqualTo(50);
    assertThat(BenchSupport.percentile(sorted, 99)).isEqualTo(99);
    assertThat(BenchSupport.percentile(new double[] {7}, 99)).isEqualTo(7);
    assertThat(RoutingBench.mean(new double[] {1, 2, 6})).isEqualTo(3);
  }

  @Test
  void reportsATablePerWorkloadAndTheTargets() {
    String report = RoutingBench.markdown(List.of(
        "{\"label\":\"multi-turn/round-robin\",\"calls\":10,\"ttft_mean_ms\":200.000,"
            + "\"inflight_per_instance\":[1.0,2.0],\"inflight_max_over_mean\":1.333}",
        "{\"label\":\"multi-turn/prefix-aware\",\"calls\":10,\"ttft_mean_ms\":80.000,"
            + "\"inflight_max_over_mean\":null}"));
    assertThat(report).contains("### multi-turn", "| round-robin | 10 |", "| 1.33 |",
        "prefix-aware mean TTFT vs round-robin (multi-turn, shared prefixes): 80 / 200 ms = 0.40 (-60 %");
  }
}
