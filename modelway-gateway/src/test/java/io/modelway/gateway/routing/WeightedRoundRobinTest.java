package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinTest {
  private final WeightedRoundRobin policy = new WeightedRoundRobin();

  private List<String> choose(List<Candidate> candidates, int times) {
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      chosen.add(policy.choose(RouteRequest.withPrompt(""), candidates).id());
    }
    return chosen;
  }

  @Test
  void spreadsCallsInProportionToWeightsWithoutBursts() {
    List<Candidate> candidates = List.of(
        Candidates.weighted("a", 5), Candidates.weighted("b", 1), Candidates.weighted("c", 1));
    assertThat(choose(candidates, 7)).containsExactly("a", "a", "b", "a", "c", "a", "a");

    Map<String, Integer> counts = new HashMap<>();
    choose(candidates, 700).forEach(id -> counts.merge(id, 1, Integer::sum));
    assertThat(counts).containsEntry("a", 500).containsEntry("b", 100).containsEntry("c", 100);
  }

  @Test
  void keepsProportionsAmongTheCandidatesLeftWhenOneLeaves() {
    Candidate a = Candidates.weighted("a", 2);
    Candidate b = Candidates.weighted("b", 1);
    Candidate c = Candidates.weighted("c", 1);
    choose(List.of(a, b, c), 5);

    Map<String, Integer> counts = new HashMap<>();
    choose(List.of(a, c), 300).forEach(id -> counts.merge(id, 1, Integer::sum));
    assertThat(counts).containsOnlyKeys("a", "c");
    assertThat(counts.get("a")).isBetween(199, 201);
  }
}
