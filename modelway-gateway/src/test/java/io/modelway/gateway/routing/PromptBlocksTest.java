package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.backend.BackendCall;
import io.modelway.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromptBlocksTest {
  private static final String SYSTEM = "Answer as a pirate would, briefly. ".repeat(10);

  private static byte[] chat(String... contents) {
    StringBuilder json = new StringBuilder("{\"model\":\"m\",\"messages\":[");
    for (int i = 0; i < contents.length; i++) {
      String role = i == 0 ? "system" : i % 2 == 1 ? "user" : "assistant";
      json.append(i == 0 ? "" : ",").append("{\"role\":\"").append(role)
          .append("\",\"content\":\"").append(contents[i]).append("\"}");
    }
    return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
  }

  private static int common(long[] a, long[] b) {
    int n = 0;
    while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
      n++;
    }
    return n;
  }

  @Test
  void aConversationsNextTurnStartsWithEveryBlockOfThePreviousOne() {
    long[] turn1 = PromptBlocks.of(Endpoint.CHAT_COMPLETIONS, chat(SYSTEM, "Where is the gold?"));
    long[] turn2 = PromptBlocks.of(Endpoint.CHAT_COMPLETIONS,
        chat(SYSTEM, "Where is the gold?", "Buried, matey.", "Where exactly?"));
    assertThat(turn1).isNotEmpty();
    assertThat(turn2.length).isGreaterThan(turn1.length);
    assertThat(Arrays.copyOf(turn2, turn1.length)).isEqualTo(turn1);
  }

  @Test
  void promptsShareBlocksOnlyUpToWhereTheyDiffer() {
    long[] a = PromptBlocks.of(Endpoint.CHAT_COMPLETIONS, chat(SYSTEM, "first question"));
    long[] b = PromptBlocks.of(Endpoint.CHAT_COMPLETIONS, chat(SYSTEM, "second question"));
    long[] other = PromptBlocks.of(Endpoint.CHAT_COMPLETIONS, chat("Be formal. " + SYSTEM, "x"));
    int systemBlocks = SYSTEM.length() / PromptBlocks.BLOCK_CHARS;
    assertThat(common(a, b)).isBetween(systemBlocks - 1, systemBlocks + 1);
    assertThat(common(a, other)).isZero();
  }

  @Test
  void readsCompletionPromptsAndSkipsEmbeddings() {
    byte[] completion = ("{\"model\":\"m\",\"prompt\":\"" + "x".repeat(200) + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    assertThat(PromptBlocks.of(Endpoint.COMPLETIONS, completion)).hasSize(3);
    assertThat(PromptBlocks.of(Endpoint.EMBEDDINGS, completion)).isEmpty();
    assertThat(PromptBlocks.of(Endpoint.CHAT_COMPLETIONS, "not json".getBytes())).isEmpty();
  }

  @Test
  void theSessionKeyIsTheHeaderElseTheUserField() {
    byte[] body = "{\"model\":\"m\",\"user\":\"alice\",\"messages\":[]}".getBytes();
    Map<String, String> headers = Map.of("x-session-id", "s-1");
    BackendCall withHeader = new BackendCall(Endpoint.CHAT_COMPLETIONS, body, false, "r",
        headers::get);
    BackendCall withoutHeader = new BackendCall(Endpoint.CHAT_COMPLETIONS, body, false, "r");
    BackendCall neither = new BackendCall(Endpoint.CHAT_COMPLETIONS,
        "{\"model\":\"m\",\"messages\":[]}".getBytes(), false, "r");

    assertThat(RouteRequest.of(withHeader, "x-session-id").sessionKey()).hasValue("s-1");
    assertThat(RouteRequest.of(withHeader, "x-other").sessionKey()).hasValue("alice");
    assertThat(RouteRequest.of(withoutHeader, "x-session-id").sessionKey()).hasValue("alice");
    assertThat(RouteRequest.of(neither, "x-session-id").sessionKey()).isEmpty();
  }
}
