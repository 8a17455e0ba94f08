package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.openai.Endpoint;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class PromptTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String SYSTEM = "You are a careful assistant. ".repeat(20);

  private static Prompt chat(String model, String... roleContent) {
    StringBuilder messages = new StringBuilder();
    for (int i = 0; i < roleContent.length; i += 2) {
      messages.append(i == 0 ? "" : ",").append("{\"role\":\"").append(roleContent[i])
          .append("\",\"content\":").append(JSON.writeValueAsString(roleContent[i + 1])).append('}');
    }
    JsonNode tree = JSON.readTree("{\"model\":\"" + model + "\",\"messages\":[" + messages + "]}");
    return Prompt.of(Endpoint.CHAT_COMPLETIONS, model, tree);
  }

  @Test
  void countsAboutFourCharactersATokenPlusThreeAMessageAndThreeForTheAnswer() {
    assertThat(chat("m", "user", "hello").tokens()).isEqualTo(3 + 3 + 2);
    assertThat(chat("m", "system", "", "user", "abcd").tokens()).isEqualTo(3 + 3 + 1 + 3 + 1);
    JsonNode completion = JSON.readTree("{\"model\":\"m\",\"prompt\":\"" + "x".repeat(33) + "\"}");
    assertThat(Prompt.of(Endpoint.COMPLETIONS, "m", completion).tokens()).isEqualTo(9);
  }

  @Test
  void perByteCountsEveryUtf8ByteOfTheTextAsAToken() {
    // "é" is 2 bytes, "日本" 6, an emoji 4: 12 bytes with "abc" and a space... counted exactly.
    String text = "abc é日本\uD83D\uDE00";
    int bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    assertThat(bytes).isEqualTo(3 + 1 + 2 + 6 + 4);
    JsonNode tree = JSON.readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
        + "\"content\":" + JSON.writeValueAsString(text) + "}]}");
    assertThat(Prompt.of(Endpoint.CHAT_COMPLETIONS, "m", tree, true).tokens())
        .isEqualTo(3 + bytes + 3);
    JsonNode completion = JSON.readTree("{\"model\":\"m\",\"prompt\":\"" + "=".repeat(800)
        + "\"}");
    assertThat(Prompt.of(Endpoint.COMPLETIONS, "m", completion, true).tokens()).isEqualTo(800);
  }

  @Test
  void hashesOneBlockPerSixteenTokens() {
    Prompt p = chat("m", "user", "x".repeat(4 * 40));
    assertThat(p.tokens()).isEqualTo(46);
    assertThat(p.blockHashes()).hasSize(2);
  }

  @Test
  void conversationsWithTheSameSystemPromptShareItsBlocks() {
    Prompt a = chat("m", "system", SYSTEM, "user", "What is a river?");
    Prompt b = chat("m", "system", SYSTEM, "user", "Name three stones.");
    int systemBlocks = (3 + SYSTEM.length() / 4) / KvCache.BLOCK_TOKENS;
    assertThat(systemBlocks).isGreaterThan(5);
    assertThat(Arrays.copyOf(b.blockHashes(), systemBlocks))
        .containsExactly(Arrays.copyOf(a.blockHashes(), systemBlocks));
    assertThat(chat("m", "system", "Be brief. " + SYSTEM, "user", "What is a river?").blockHashes()[0])
        .isNotEqualTo(a.blockHashes()[0]);
  }

  @Test
  void theNextTurnStartsWithEveryBlockOfThePreviousOne() {
    Prompt first = chat("m", "system", SYSTEM, "user", "What is a river?");
    Prompt next = chat("m", "system", SYSTEM, "user", "What is a river?",
        "assistant", "Water that flows.", "user", "And a stone?");
    assertThat(next.tokens()).isGreaterThan(first.tokens());
    assertThat(Arrays.copyOf(next.blockHashes(), first.blockHashes().length))
        .containsExactly(first.blockHashes());
  }

  @Test
  void differentModelsShareNoBlocks() {
    assertThat(chat("a", "system", SYSTEM).blockHashes()[0])
        .isNotEqualTo(chat("b", "system", SYSTEM).blockHashes()[0]);
  }
}
