package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ConsistentHashTest {
  private final ConsistentHash policy = new ConsistentHash(new LeastOutstanding(new Random(3)));

  private String owner(String session, List<Candidate> candidates) {
    return policy.choose(RouteRequest.withSession(session), candidates).id();
  }

  private Map<String, String> owners(int sessions, List<Candidate> candidates) {
    Map<String, String> owners = new HashMap<>();
    for (int i = 0; i < sessions; i++) {
      owners.put("session-" + i, owner("session-" + i, candidates));
    }
    return owners;
  }

  private static Map<String, Integer> shares(Map<String, String> owners) {
    Map<String, Integer> counts = new HashMap<>();
    owners.values().forEach(id -> counts.merge(id, 1, Integer::sum));
    return counts;
  }

  @Test
  void sendsASessionToTheSameInstanceEveryTimeWhateverTheLoad() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    String first = owner("user-42", candidates);
    candidates.forEach(c -> {
      if (c.id().equals(first)) {
        Candidates.busy(c, 10);
      }
    });
    for (int i = 0; i < 10; i++) {
      assertThat(owner("user-42", candidates)).isEqualTo(first);
    }
  }

  @Test
  void spreadsSessionsEvenly() {
    Map<String, Integer> counts = shares(owners(20_000, Candidates.list("a", "b", "c", "d")));
    assertThat(counts).hasSize(4);
    assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(4_000, 6_000));
  }

  @Test
  void movesOnlyTheSessionsOfAnInstanceThatLeaves() {
    List<Candidate> four = Candidates.list("a", "b", "c", "d");
    Map<String, String> before = owners(5_000, four);
    Map<String, String> after = owners(5_000, four.subList(0, 3));
    before.forEach((session, owner) -> {
      if (!owner.equals("d")) {
        assertThat(after.get(session)).as(session).isEqualTo(owner);
      }
    });
    Map<String, String> back = owners(5_000, four);
    assertThat(back).isEqualTo(before);
  }

  @Test
  void givesAHeavierInstanceProportionallyMoreSessions() {
    Map<String, Integer> counts = shares(owners(20_000,
        List.of(Candidates.weighted("heavy", 3), Candidates.weighted("light", 1))));
    assertThat(counts.get("heavy")).isBetween(13_500, 16_500);
  }

  @Test
  void sendsACallWithoutASessionKeyToTheLeastLoaded() {
    List<Candidate> candidates = Candidates.list("a", "b");
    Candidates.busy(candidates.get(0), 1);
    assertThat(policy.choose(RouteRequest.withPrompt("no session"), candidates).id())
        .isEqualTo("b");
  }
}
