package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelHintsTest {
  private static final List<String> CALLABLE = List.of("chat", "gpt-4o-mini", "gpt-4o");

  @Test
  void distanceCountsATranspositionAsOneEdit() {
    assertThat(ModelHints.distance("chta", "chat")).isEqualTo(1);
    assertThat(ModelHints.distance("gpt-4o-mni", "gpt-4o-mini")).isEqualTo(1);
    assertThat(ModelHints.distance("", "abc")).isEqualTo(3);
    assertThat(ModelHints.distance("kitten", "sitting")).isEqualTo(3);
  }

  @Test
  void suggestsTheClosestNamesFirstAndNothingFar() {
    assertThat(ModelHints.closest("gpt-4o-mni", CALLABLE)).containsExactly("gpt-4o-mini");
    assertThat(ModelHints.closest("gpt-4o-min", List.of("gpt-4o-mini-2", "gpt-4o-mini")))
        .containsExactly("gpt-4o-mini", "gpt-4o-mini-2");
    assertThat(ModelHints.closest("CHAT", CALLABLE)).containsExactly("chat");
    assertThat(ModelHints.closest("llama-3", CALLABLE)).isEmpty();
  }

  @Test
  void aBareNameGetsItsBackendSlashModelFormListingBackendsFirst() {
    String hint = ModelHints.hint("any-model", CALLABLE, List.of("a", "sim"),
        Map.of("sim", List.of("any-model")), name -> true);
    assertThat(hint).isEqualTo(
        "A backend's models are called as BACKEND/MODEL: 'sim/any-model' or 'a/any-model'.");
  }

  @Test
  void anUnknownPrefixGetsTheClosestBackend() {
    assertThat(ModelHints.hint("smi/any-model", CALLABLE, List.of("sim", "openai"), Map.of(),
        name -> true)).isEqualTo("Did you mean 'sim/any-model'?");
  }

  @Test
  void namesNothingTheCallerMayNotCall() {
    assertThat(ModelHints.hint("chta", List.of("gpt-4o"), List.of("sim"),
        Map.of("sim", List.of("chat")), name -> name.equals("gpt-4o"))).isEmpty();
  }
}
