package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LeastOutstandingTest {
  private final LeastOutstanding policy = new LeastOutstanding(new Random(7));

  @Test
  void picksTheCandidateWithTheFewestCallsInFlight() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Candidates.busy(candidates.get(0), 2);
    Candidates.busy(candidates.get(2), 1);
    assertThat(policy.choose(RouteRequest.withPrompt(""), candidates).id()).isEqualTo("b");
  }

  @Test
  void countsTheQueueAWorkerReported() {
    Candidate a = Candidates.busy(Candidates.of("a"), 1);
    Candidate b = new Candidate("b", 1, 3, new InstanceStats(Candidates.CLOCK::nanoTime));
    assertThat(policy.choose(RouteRequest.withPrompt(""), List.of(a, b)).id()).isEqualTo("a");
  }

  @Test
  void sharesTiesAtRandom() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 3000; i++) {
      counts.merge(policy.choose(RouteRequest.withPrompt(""), candidates).id(), 1, Integer::sum);
    }
    assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
  }
}
