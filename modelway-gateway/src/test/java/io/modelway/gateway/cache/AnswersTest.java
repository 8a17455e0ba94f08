package io.modelway.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class AnswersTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String event(String json) {
    return "data: " + json + "\n\n";
  }

  private static JsonNode assemble(Endpoint endpoint, String stream, int cutEvery) {
    Answers.Assembler assembler = new Answers.Assembler(endpoint);
    byte[] all = bytes(stream);
    for (int i = 0; i < all.length; i += cutEvery) {
      assembler.feed(java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + cutEvery)));
    }
    return assembler.whole().map(JSON::readTree).orElse(null);
  }

  private static final String HEAD = "\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
      + "\"created\":5,\"model\":\"m\"";

  @Test
  void assemblesContentAndToolCallsFromChunksCutAnywhere() {
    String stream = event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            + "\"content\":\"\"},\"finish_reason\":null}]}")
        + event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo \"},"
            + "\"finish_reason\":null}]}")
        + event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"world\"},"
            + "\"finish_reason\":null}]}")
        + event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
            + "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]},"
            + "\"finish_reason\":null}]}")
        + event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
            + "\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":null}]}")
        + event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}")
        + event("{" + HEAD + ",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}")
        + "data: [DONE]\n\n";
    for (int cut : List.of(1, 7, 10_000)) {
      JsonNode whole = assemble(Endpoint.CHAT_COMPLETIONS, stream, cut);
      assertThat(whole).as("cut every " + cut).isNotNull();
      assertThat(whole.path("object").asString()).isEqualTo("chat.completion");
      JsonNode message = whole.path("choices").get(0).path("message");
      assertThat(message.path("content").asString()).isEqualTo("Héllo world");
      assertThat(message.path("tool_calls").get(0).path("function").path("arguments").asString())
          .isEqualTo("{\"a\":1}");
      assertThat(message.path("tool_calls").get(0).path("id").asString()).isEqualTo("call_1");
      assertThat(whole.path("choices").get(0).path("finish_reason").asString()).isEqualTo("tool_calls");
      assertThat(whole.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
    }
  }

  @Test
  void aStreamThatFailedOrDidNotEndHasNoWholeForm() {
    String start = event("{" + HEAD + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
        + "\"finish_reason\":null}]}");
    assertThat(assemble(Endpoint.CHAT_COMPLETIONS, start, 100)).as("no [DONE]").isNull();
    assertThat(assemble(Endpoint.CHAT_COMPLETIONS,
        start + event("{\"error\":{\"message\":\"cut\"}}") + "data: [DONE]\n\n", 100))
        .as("an error event").isNull();
    assertThat(assemble(Endpoint.CHAT_COMPLETIONS, start + event("{" + HEAD
            + ",\"choices\":[{\"index\":0,\"delta\":{\"audio\":{\"id\":\"a\"}},\"finish_reason\":null}]}")
            + "data: [DONE]\n\n", 100))
        .as("a delta it does not know").isNull();
  }

  @Test
  void aReplayedAnswerAssemblesBackToItself() {
    String whole = "{\"id\":\"c9\",\"object\":\"chat.completion\",\"created\":7,\"model\":\"m\","
        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},"
        + "\"logprobs\":null,\"finish_reason\":\"stop\"},{\"index\":1,\"message\":{\"role\":"
        + "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\","
        + "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"logprobs\":null,"
        + "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}";
    byte[] replay = Answers.replay(Endpoint.CHAT_COMPLETIONS, bytes(whole), true);
    String text = new String(replay, StandardCharsets.UTF_8);
    assertThat(text).endsWith("data: [DONE]\n\n").contains("\"object\":\"chat.completion.chunk\"");
    JsonNode back = assemble(Endpoint.CHAT_COMPLETIONS, text, 13);
    assertThat(back).isEqualTo(JSON.readTree(whole));
    String noUsage = new String(Answers.replay(Endpoint.CHAT_COMPLETIONS, bytes(whole), false),
        StandardCharsets.UTF_8);
    assertThat(noUsage).doesNotContain("\"usage\"");
  }

  @Test
  void completionsReplayAsTextChunks() {
    String whole = "{\"id\":\"t1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
        + "\"choices\":[{\"text\":\"once upon\",\"index\":0,\"logprobs\":null,"
        + "\"finish_reason\":\"length\"}]}";
    String text = new String(Answers.replay(Endpoint.COMPLETIONS, bytes(whole), false),
        StandardCharsets.UTF_8);
    JsonNode back = assemble(Endpoint.COMPLETIONS, text, 5);
    assertThat(back).isEqualTo(JSON.readTree(whole));
  }
}
