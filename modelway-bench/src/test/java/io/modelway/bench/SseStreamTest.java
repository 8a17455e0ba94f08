package io.modelway.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

class SseStreamTest {
  private static final String CHUNK =
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
          + "\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n";
  private static final String USAGE =
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
          + "\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":3,\"total_tokens\":33}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  private static Completion read(String stream, boolean keepText) throws IOException {
    return SseStream.read(new BufferedReader(new StringReader(stream)), keepText);
  }

  private static String chunks(String... texts) {
    StringBuilder out = new StringBuilder(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
    for (String t : texts) {
      out.append(String.format(CHUNK, t));
    }
    return out.toString();
  }

  @Test
  void takesTheTokenCountFromTheUsageEventNotFromTheNumberOfEvents() throws IOException {
    // Two content events, but usage says three tokens (one event may carry several tokens).
    Completion completion = read(chunks(" the", " cat sat") + USAGE + DONE, false);

    assertThat(completion.tokens()).isEqualTo(3);
    assertThat(completion.text()).isEmpty();
  }

  @Test
  void concatenatesTheDeltasWhenAskedForTheText() throws IOException {
    Completion completion = read(chunks(" the", " cat", " sat") + USAGE + DONE, true);

    assertThat(completion.text()).isEqualTo(" the cat sat");
    assertThat(completion.tokens()).isEqualTo(3);
  }

  @Test
  void rejectsAStreamCutBeforeDone() {
    assertThatThrownBy(() -> read(chunks(" the", " cat", " sat") + USAGE, false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("[DONE]");
  }

  @Test
  void rejectsAStreamWithoutUsage() {
    assertThatThrownBy(() -> read(chunks(" the", " cat", " sat") + DONE, false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("usage");
  }

  @Test
  void rejectsAnErrorEventEvenWhenNotKeepingTheText() {
    String error = "data: {\"error\":{\"message\":\"Model 'tiny' failed\",\"type\":\"server_error\"}}\n\n";

    assertThatThrownBy(() -> read(chunks(" the") + error, false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("Model 'tiny' failed");
  }
}
