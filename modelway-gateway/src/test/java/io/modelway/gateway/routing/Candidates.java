package io.modelway.gateway.routing;

import java.util.ArrayList;
import java.util.List;

/** Candidates for policy tests: fresh stats on a test clock. */
final class Candidates {
  private Candidates() {}

  static final TestClock CLOCK = new TestClock();

  static Candidate of(String id) {
    return weighted(id, 1);
  }

  static Candidate weighted(String id, int weight) {
    return new Candidate(id, weight, 0, new InstanceStats(CLOCK::nanoTime));
  }

  static List<Candidate> list(String... ids) {
    List<Candidate> list = new ArrayList<>();
    for (String id : ids) {
      list.add(of(id));
    }
    return list;
  }

  /** Puts {@code calls} calls in flight on {@code c}. */
  static Candidate busy(Candidate c, int calls) {
    for (int i = 0; i < calls; i++) {
      c.stats().begin();
    }
    return c;
  }
}
