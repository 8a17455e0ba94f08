package io.modelway.gateway.cache.semantic;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SemanticKeyTest {
  private static final String SYSTEM = "{\"role\":\"system\",\"content\":\"Be brief.\"}";

  private static Optional<SemanticKey> chat(String json) {
    return SemanticKey.of(Endpoint.CHAT_COMPLETIONS, json.getBytes(StandardCharsets.UTF_8));
  }

  private static SemanticKey chatKey(String json) {
    return chat(json).orElseThrow();
  }

  private static String request(String extra, String... messages) {
    return "{\"model\":\"gpt-4o-mini\"" + extra + ",\"messages\":[" + String.join(",", messages)
        + "]}";
  }

  private static String user(String text) {
    return "{\"role\":\"user\",\"content\":\"" + text + "\"}";
  }

  @Test
  void numbersBeyondADoubleAreKeyedExactlyAndWithoutWritingTheirDigitsOut() {
    SemanticKey big = chatKey(request(",\"logit_bias\":{\"1\":1e400}", SYSTEM, user("Hi?")));
    SemanticKey huge = chatKey(request(",\"logit_bias\":{\"1\":1e999999999}", SYSTEM,
        user("Hi?")));
    assertThat(big.contextHash()).isNotEqualTo(huge.contextHash());
    assertThat(chatKey(request(",\"logit_bias\":{\"1\":10e399}", SYSTEM, user("Hi?")))
        .contextHash()).isEqualTo(big.contextHash());
  }

  @Test
  void embedsTheLastUserMessageAndHashesTheRest() {
    SemanticKey key = chatKey(request("", SYSTEM, user("  What is Docker?  ")));

    assertThat(key.text()).isEqualTo("What is Docker?");
    assertThat(key.contextHash()).hasSize(64).matches("[0-9a-f]+");
  }

  @Test
  void sameContextGivesSameHashWhateverTheQuestion() {
    SemanticKey a = chatKey(request(",\"temperature\":0", SYSTEM, user("What is Docker?")));
    SemanticKey b = chatKey(request(",\"temperature\":0", SYSTEM, user("Explain Docker.")));

    assertThat(a.contextHash()).isEqualTo(b.contextHash());
    assertThat(a.text()).isNotEqualTo(b.text());
  }

  @Test
  void differentSystemPromptEarlierTurnOrParameterGivesDifferentHash() {
    String base = request(",\"temperature\":0", SYSTEM, user("What is Docker?"));
    String otherSystem = request(",\"temperature\":0",
        "{\"role\":\"system\",\"content\":\"Answer in French.\"}", user("What is Docker?"));
    String earlierTurn = request(",\"temperature\":0", SYSTEM, user("Hi"),
        "{\"role\":\"assistant\",\"content\":\"Hello!\"}", user("What is Docker?"));
    String otherTemperature = request(",\"temperature\":0.7", SYSTEM, user("What is Docker?"));
    String seed = request(",\"temperature\":0,\"seed\":7", SYSTEM, user("What is Docker?"));
    String tools = request(",\"temperature\":0,\"tools\":[{\"type\":\"function\","
        + "\"function\":{\"name\":\"f\"}}]", SYSTEM, user("What is Docker?"));
    String format = request(",\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}",
        SYSTEM, user("What is Docker?"));
    String n = request(",\"temperature\":0,\"n\":2", SYSTEM, user("What is Docker?"));
    String unknown = request(",\"temperature\":0,\"reasoning_effort\":\"high\"", SYSTEM,
        user("What is Docker?"));
    String named = request(",\"temperature\":0", SYSTEM,
        "{\"role\":\"user\",\"name\":\"bob\",\"content\":\"What is Docker?\"}");

    String hash = chatKey(base).contextHash();
    for (String other : new String[] {otherSystem, earlierTurn, otherTemperature, seed, tools,
        format, n, unknown, named}) {
      assertThat(chatKey(other).contextHash()).as(other).isNotEqualTo(hash);
      assertThat(chatKey(other).text()).isEqualTo("What is Docker?");
    }
  }

  @Test
  void deliveryFieldsModelNullsKeyOrderAndNumberFormDoNotMatter() {
    String base = "{\"model\":\"a\",\"temperature\":1,\"messages\":[" + SYSTEM + ","
        + user("What is Docker?") + "]}";
    String other = "{ \"messages\": [{\"content\":\"Be brief.\",\"role\":\"system\"},"
        + user("What is Docker?") + "], \"temperature\": 1.0, \"model\": \"b\", \"stream\": true,"
        + " \"stream_options\": {\"include_usage\": true}, \"user\": \"u-1\", \"top_p\": null,"
        + " \"metadata\": {\"k\": \"v\"}, \"store\": false, \"service_tier\": \"auto\" }";

    assertThat(chatKey(other)).isEqualTo(chatKey(base));
  }

  @Test
  void textPartsAreJoinedAndOtherPartsAreNotCacheable() {
    String parts = request("", "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"},"
        + "{\"type\":\"text\",\"text\":\"What is Docker?\"}]}");
    String image = request("", "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What"
        + " is this?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}");
    String audioEarlier = request("", "{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
        + "\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}}]}",
        "{\"role\":\"assistant\",\"content\":\"ok\"}", user("And then?"));

    assertThat(chatKey(parts).text()).isEqualTo("Hi\nWhat is Docker?");
    assertThat(chat(image)).isEmpty();
    assertThat(chat(audioEarlier)).isEmpty();
  }

  @Test
  void notCacheableWhenTheLastMessageIsNotTheUsersOrTheBodyIsOdd() {
    assertThat(chat(request("", user("Hi"), "{\"role\":\"assistant\",\"content\":\"Hello\"}")))
        .isEmpty();
    assertThat(chat(request("", user("Hi"), "{\"role\":\"tool\",\"tool_call_id\":\"c\","
        + "\"content\":\"42\"}"))).isEmpty();
    assertThat(chat(request("", user("   ")))).isEmpty();
    assertThat(chat("{\"model\":\"m\",\"messages\":[]}")).isEmpty();
    assertThat(chat("not json")).isEmpty();
    assertThat(chat("[1,2]")).isEmpty();
    assertThat(SemanticKey.of(Endpoint.EMBEDDINGS,
        "{\"model\":\"m\",\"input\":\"hi\"}".getBytes(StandardCharsets.UTF_8))).isEmpty();
  }

  @Test
  void completionsEmbedThePromptAndNeverShareAHashWithChat() {
    SemanticKey completion = SemanticKey.of(Endpoint.COMPLETIONS,
        "{\"model\":\"m\",\"prompt\":\"What is Docker?\",\"max_tokens\":16}"
            .getBytes(StandardCharsets.UTF_8)).orElseThrow();
    SemanticKey single = SemanticKey.of(Endpoint.COMPLETIONS,
        "{\"model\":\"m\",\"prompt\":[\"What is Docker?\"],\"max_tokens\":16,\"stream\":true}"
            .getBytes(StandardCharsets.UTF_8)).orElseThrow();
    Optional<SemanticKey> several = SemanticKey.of(Endpoint.COMPLETIONS,
        "{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}".getBytes(StandardCharsets.UTF_8));

    assertThat(completion.text()).isEqualTo("What is Docker?");
    assertThat(single).isEqualTo(completion);
    assertThat(several).isEmpty();
    assertThat(chatKey("{\"model\":\"m\",\"max_tokens\":16,\"messages\":["
        + user("What is Docker?") + "]}").contextHash()).isNotEqualTo(completion.contextHash());
  }
}
