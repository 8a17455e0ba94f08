package io.modelway.gateway.cache.semantic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelway.gateway.cache.semantic.SemanticMatch.Verdict;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SemanticMatchTest {
  @ParameterizedTest(name = "{0} | {1} -> {2}")
  @CsvSource(delimiter = '|', value = {
      "How many calories are in 2 eggs? | How many calories are in 3 eggs? | NUMBERS_DIFFER",
      "What is 1,000 plus 5? | What is 1000 plus 5? | HIT",
      "Plan a trip of two days. | Plan a 2 day trip. | HIT",
      "Give me twenty five ideas. | Give me 25 ideas. | HIT",
      "Give me a dozen ideas. | Give me 12 ideas. | HIT",
      "Which one is faster? | Which is faster? | HIT",
      "Is it safe to eat raw eggs? | Is it not safe to eat raw eggs? | NEGATION_DIFFERS",
      "Why does my code compile? | Why doesn’t my code compile? | NEGATION_DIFFERS",
      "How do I bake bread with yeast? | How do I bake bread without yeast? | NEGATION_DIFFERS",
      "What is the capital of Austria? | What is the capital of Australia? | ENTITIES_DIFFER",
      "How do I reverse a string in Python? | How do I reverse a string in Ruby? | ENTITIES_DIFFER",
      "Python: how do I reverse a string? | How do I reverse a string in python? | HIT",
      "How do I call os.path.join? | How do I call os.path.split? | ENTITIES_DIFFER",
      "What does \"git reset\" do? | What does \"git revert\" do? | ENTITIES_DIFFER",
      "What does my_var mean? | What does other_var mean? | ENTITIES_DIFFER",
      "Is IPv4 faster? | Is IPv6 faster? | ENTITIES_DIFFER",
      "I'm new. What is Docker? | What is Docker? | HIT",
      "How many miles is a marathon? | How many kilometres is a marathon? | UNITS_DIFFER",
      "How far is 5 km? | How far is 5 kilometers? | HIT",
      "What is 30 °C in Kelvin? | What is 30 celsius in Kelvin? | HIT",
      "What is 15% of 200? | What is 15 percent of 200? | HIT",
      "Convert JSON to YAML. | Convert YAML to JSON. | DIRECTION_DIFFERS",
      "How do I copy files from my server to my laptop? | How do I copy files from my laptop to my server? | DIRECTION_DIFFERS",
      "How do I convert a string to an integer in Java? | In Java, how can I parse a string into an int? | HIT",
      "How do I increase my heart rate? | How do I decrease my heart rate? | OPPOSITES",
      "How do I mount a drive? | How do I unmount a drive? | OPPOSITES",
      "What are the advantages of Rust? | What are the disadvantages of Rust? | OPPOSITES",
      "What is the fastest land animal? | Which land animal is the fastest? | HIT",
  })
  void guardRefusesWhatEmbeddingsBlur(String a, String b, Verdict expected) {
    assertThat(SemanticMatch.guard(a, b)).isEqualTo(expected);
    assertThat(SemanticMatch.guard(b, a)).as("symmetric").isEqualTo(expected);
  }

  @Test
  void hitNeedsTheThresholdAndTheGuard() {
    SemanticMatch match = new SemanticMatch(0.8);

    assertThat(match.judge("What is Docker?", "Can you explain Docker?", 0.85)).isEqualTo(Verdict.HIT);
    assertThat(match.judge("What is Docker?", "Can you explain Docker?", 0.79))
        .isEqualTo(Verdict.BELOW_THRESHOLD);
    assertThat(match.judge("What is Docker?", "What is Podman?", 0.95))
        .isEqualTo(Verdict.ENTITIES_DIFFER);
    assertThat(match.judge("a", "b", Double.NaN)).isEqualTo(Verdict.BELOW_THRESHOLD);
  }

  @Test
  void rejectsThresholdsOutsideZeroToOne() {
    assertThatThrownBy(() -> new SemanticMatch(0)).hasMessageContaining("expected: > 0 and <= 1");
    assertThatThrownBy(() -> new SemanticMatch(1.01)).isInstanceOf(IllegalArgumentException.class);
    assertThat(SemanticMatch.defaults().threshold()).isEqualTo(SemanticMatch.DEFAULT_THRESHOLD);
  }
}
