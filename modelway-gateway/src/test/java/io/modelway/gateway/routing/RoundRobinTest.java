package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoundRobinTest {

  @Test
  void takesEachCandidateInTurnWhateverTheirLoad() {
    RoundRobin policy = new RoundRobin();
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Candidates.busy(candidates.get(1), 5);
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      chosen.add(policy.choose(RouteRequest.withPrompt(""), candidates).id());
    }
    assertThat(chosen).containsExactly("a", "b", "c", "a", "b", "c", "a");
  }
}
