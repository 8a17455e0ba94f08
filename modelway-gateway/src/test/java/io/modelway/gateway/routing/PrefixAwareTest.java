package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PrefixAwareTest {
  private static final String SYSTEM = "You are a meticulous assistant for a bank. ".repeat(40);

  private final PrefixAware policy = new PrefixAware(1 << 16, new Random(5));

  private static RouteRequest prompt(String text) {
    return RouteRequest.withPrompt(text);
  }

  @Test
  void sendsAConversationsNextTurnWhereItsPrefixWent() {
    List<Candidate> candidates = Candidates.list("a", "b", "c", "d");
    String turn1 = SYSTEM + "user: what is an overdraft? ";
    Candidate first = policy.choose(prompt(turn1), candidates);
    // Other conversations keep the other instances as busy as this one.
    for (int i = 0; i < 3; i++) {
      policy.choose(prompt("another conversation " + i + " ".repeat(100)), candidates);
    }
    String turn2 = turn1 + "assistant: a negative balance. user: and its fees? ";
    assertThat(policy.choose(prompt(turn2), candidates)).isSameAs(first);
    assertThat(policy.matched(first.id(), prompt(turn2).prefixBlocks()))
        .isEqualTo(prompt(turn2).prefixBlocks().length);
  }

  @Test
  void keepsAffinityWithinTheSlackAndLeavesItBeyond() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Candidate home = policy.choose(prompt(SYSTEM + "question 1"), candidates);
    Candidates.busy(home, PrefixAware.MIN_SLACK);
    assertThat(policy.choose(prompt(SYSTEM + "question 2"), candidates)).isSameAs(home);
    home.stats().begin(); // one more than the slack above the idle ones
    assertThat(policy.choose(prompt(SYSTEM + "question 3"), candidates)).isNotSameAs(home);
  }

  @Test
  void aPromptThatSharesOnlyAShortPrefixGoesToALeastLoadedInstance() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Candidate home = policy.choose(prompt(SYSTEM + "first document"), candidates);
    home.stats().begin();
    // Shares the system prompt, but most of it is a document of its own.
    String newConversation = SYSTEM + "another document, much longer: " + "z".repeat(3 * SYSTEM.length());
    Candidate chosen = policy.choose(prompt(newConversation), candidates);
    assertThat(chosen).isNotSameAs(home);
    assertThat(chosen.load()).isZero();
  }

  @Test
  void withoutAnyMatchActsAsLeastOutstanding() {
    List<Candidate> candidates = Candidates.list("a", "b", "c");
    Candidates.busy(candidates.get(0), 1);
    Candidates.busy(candidates.get(2), 1);
    assertThat(policy.choose(prompt("x".repeat(500)), candidates).id()).isEqualTo("b");
    assertThat(policy.choose(RouteRequest.of(Optional.empty(), new long[0]), candidates).id())
        .isEqualTo("b");
  }

  @Test
  void forgetsTheTailOfAPrefixBeforeItsHead() {
    PrefixAware small = new PrefixAware(6, new Random(1));
    List<Candidate> one = List.of(Candidates.of("a"));
    RouteRequest first = prompt("A".repeat(4 * PromptBlocks.BLOCK_CHARS));
    RouteRequest second = prompt("B".repeat(4 * PromptBlocks.BLOCK_CHARS));
    small.choose(first, one);
    assertThat(small.matched("a", first.prefixBlocks())).isEqualTo(4);
    small.choose(second, one);
    assertThat(small.matched("a", second.prefixBlocks())).isEqualTo(4);
    assertThat(small.matched("a", first.prefixBlocks())).isEqualTo(2);
  }

  /**
   * Regression guard for the known failure of cache-aware routers: with a prefix that every
   * request shares, affinity must not pile the calls onto one instance.
   */
  @Test
  void spreadsCallsEvenlyWhenEveryRequestSharesOnePrefix() {
    List<Candidate> candidates = Candidates.list("a", "b", "c", "d", "e", "f", "g", "h");
    Random random = new Random(99);
    List<Candidate> running = new ArrayList<>();
    Map<String, Long> loadTime = new HashMap<>();
    for (int step = 0; step < 20_000; step++) {
      // About three calls per instance in flight: each step one arrives and each call in flight
      // ends with probability 1/24.
      int min = Integer.MAX_VALUE;
      for (Candidate c : candidates) {
        min = Math.min(min, c.load());
      }
      double mean = running.size() / (double) candidates.size();
      Candidate chosen = policy.choose(prompt(SYSTEM + "request " + step), candidates);
      assertThat(chosen.load()).isLessThanOrEqualTo(min + PrefixAware.slack(mean));
      if (min == 0) {
        assertThat(chosen.load()).isLessThanOrEqualTo(PrefixAware.MIN_SLACK);
      }
      chosen.stats().begin();
      running.add(chosen);
      running.removeIf(c -> {
        if (random.nextInt(24) == 0) {
          c.stats().end();
          return true;
        }
        return false;
      });
      if (step >= 1_000) {
        for (Candidate c : candidates) {
          loadTime.merge(c.id(), (long) c.load(), Long::sum);
        }
      }
    }
    long max = loadTime.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    double mean = loadTime.values().stream().mapToLong(Long::longValue).average().orElseThrow();
    assertThat(max / mean).as("max/mean of the time-averaged calls in flight").isLessThanOrEqualTo(1.5);
  }

  @Test
  void aBurstThatSharesOnePrefixEndsUpBalanced() {
    List<Candidate> candidates = Candidates.list("a", "b", "c", "d", "e", "f", "g", "h");
    for (int i = 0; i < 80; i++) {
      policy.choose(prompt(SYSTEM + "burst " + i), candidates).stats().begin();
    }
    int max = candidates.stream().mapToInt(Candidate::load).max().orElseThrow();
    assertThat(max / 10.0).as("max/mean calls in flight").isLessThanOrEqualTo(1.5);
    assertThat(candidates).allSatisfy(c -> assertThat(c.load()).isPositive());
  }
}
