package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PowerOfTwoChoicesTest {
  private final PowerOfTwoChoices policy = new PowerOfTwoChoices(new Random(11));

  private static Candidate withLatency(String id, Duration latency) {
    Candidate c = Candidates.of(id);
    c.stats().recordLatency(latency.toNanos());
    return c;
  }

  @Test
  void theBusiestCandidateNeverWins() {
    List<Candidate> candidates = Candidates.list("a", "b", "c", "d", "e");
    for (int i = 0; i < candidates.size(); i++) {
      Candidates.busy(candidates.get(i), i == 4 ? 9 : i);
    }
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 2000; i++) {
      counts.merge(policy.choose(RouteRequest.withPrompt(""), candidates).id(), 1, Integer::sum);
    }
    assertThat(counts).doesNotContainKey("e");
    assertThat(counts.get("a")).isGreaterThan(counts.get("b"));
    assertThat(counts.get("b")).isGreaterThan(counts.get("c"));
  }

  @Test
  void weighsCallsInFlightByLatency() {
    Candidate fast = withLatency("fast", Duration.ofMillis(100));
    Candidate slow = withLatency("slow", Duration.ofSeconds(1));
    List<Candidate> both = List.of(fast, slow);
    for (int i = 0; i < 20; i++) {
      assertThat(policy.choose(RouteRequest.withPrompt(""), both)).isSameAs(fast);
    }
    Candidates.busy(fast, 10); // 100 ms × 11 > 1 s × 1
    assertThat(policy.choose(RouteRequest.withPrompt(""), both)).isSameAs(slow);
  }

  @Test
  void withoutLatencySamplesTheLessLoadedWins() {
    Candidate idle = Candidates.of("idle");
    Candidate busy = Candidates.busy(withLatency("busy", Duration.ofMillis(1)), 1);
    for (int i = 0; i < 20; i++) {
      assertThat(policy.choose(RouteRequest.withPrompt(""), List.of(busy, idle))).isSameAs(idle);
    }
  }
}
