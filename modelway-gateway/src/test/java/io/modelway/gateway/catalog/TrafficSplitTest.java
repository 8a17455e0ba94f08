package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TrafficSplitTest {

  private static ModelwayConfig.Alias alias(int blue, int green) {
    return new ModelwayConfig.Alias("chat-default", List.of(
        new ModelwayConfig.Target("blue", blue), new ModelwayConfig.Target("green", green)),
        ModelwayConfig.Sticky.KEY, "x-session-id");
  }

  @Test
  void randomPointsFollowTheWeights() {
    SplittableRandom random = new SplittableRandom(7);
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 100_000; i++) {
      counts.merge(TrafficSplit.choose(alias(90, 10), null, random.nextDouble()).model(), 1,
          Integer::sum);
    }
    assertThat(counts.get("green")).isBetween(9_500, 10_500);
  }

  @Test
  void hashedKeysFollowTheWeights() {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 100_000; i++) {
      counts.merge(TrafficSplit.choose(alias(90, 10), "key-" + i, 0).model(), 1, Integer::sum);
    }
    assertThat(counts.get("green")).isBetween(9_500, 10_500);
  }

  @Test
  void aKeyKeepsItsTargetAndOnlyKeysInTheMovedRangeMoveWhenWeightsChange() {
    int moved = 0;
    for (int i = 0; i < 20_000; i++) {
      String key = "key-" + i;
      String before = TrafficSplit.choose(alias(90, 10), key, 0).model();
      assertThat(TrafficSplit.choose(alias(90, 10), key, 0.99).model()).isEqualTo(before);
      String after = TrafficSplit.choose(alias(80, 20), key, 0).model();
      if (!after.equals(before)) {
        // Growing the canary only moves callers onto it, never off it.
        assertThat(before).isEqualTo("blue");
        moved++;
      }
    }
    assertThat(moved).isBetween(1_700, 2_300); // about a tenth of the callers
  }

  @Test
  void aTargetOfWeightZeroGetsNoCalls() {
    for (double point : new double[] {0, 0.25, 0.5, 0.999999}) {
      assertThat(TrafficSplit.at(List.of(new ModelwayConfig.Target("off", 0),
          new ModelwayConfig.Target("on", 3), new ModelwayConfig.Target("drained", 0)), point)
          .model()).isEqualTo("on");
    }
  }
}
