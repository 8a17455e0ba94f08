package io.modelway.runtime.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelway.openai.SseFramer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class TextEventsTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Test
  void rendersTheSameJsonAsJacksonForAnyText() {
    for (String text : new String[] {"", "hello", " \"quoted\" \\ back", "tab\tnew\nline\r\u0001\u001f",
        "é ü 漢字 🙂", "\"content\":\"\""}) {
      TextEvents events = TextEvents.of(event(chunk("\"content\":\"\"", "")), "content");

      byte[] rendered = events.render(text);

      assertThat(new String(rendered, StandardCharsets.UTF_8))
          .isEqualTo(new String(event(chunk("\"content\":\"\"", text)), StandardCharsets.UTF_8));
    }
  }

  @Test
  void refusesAnEventWithoutTheField() {
    assertThatThrownBy(() -> TextEvents.of(event(JSON.createObjectNode().put("a", "")), "text"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no empty 'text'");
  }

  /** A chunk shaped as the backend's, with a model name that holds the marker itself. */
  private static ObjectNode chunk(String model, String content) {
    ObjectNode chunk = JSON.createObjectNode().put("id", "chatcmpl-1").put("model", model);
    ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
    choice.putObject("delta").put("content", content);
    choice.putNull("finish_reason");
    return chunk;
  }

  private static byte[] event(ObjectNode json) {
    return SseFramer.dataEvent(JSON.writeValueAsBytes(json));
  }
}
