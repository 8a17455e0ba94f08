package io.modelway.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InspectedRequestTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static InspectedRequest chat(String json) {
    return InspectedRequest.inspect(Endpoint.CHAT_COMPLETIONS, utf8(json));
  }

  @Test
  void aRequestIsDeterministicWithTemperatureZeroOrASeedAndEveryEmbeddingIs() {
    String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
    assertThat(chat("{\"model\":\"m\"," + messages + "}").deterministic()).isFalse();
    assertThat(chat("{\"model\":\"m\",\"temperature\":0," + messages + "}").deterministic())
        .isTrue();
    assertThat(chat("{\"model\":\"m\",\"temperature\":0.0," + messages + "}").deterministic())
        .isTrue();
    assertThat(chat("{\"model\":\"m\",\"temperature\":0.2," + messages + "}").deterministic())
        .isFalse();
    assertThat(chat("{\"model\":\"m\",\"temperature\":null," + messages + "}").deterministic())
        .isFalse();
    assertThat(chat("{\"model\":\"m\",\"temperature\":1,\"seed\":7," + messages + "}")
        .deterministic()).isTrue();
    assertThat(chat("{\"model\":\"m\",\"seed\":null," + messages + "}").deterministic())
        .isFalse();
    assertThat(InspectedRequest.inspect(Endpoint.EMBEDDINGS,
        utf8("{\"model\":\"e\",\"input\":\"x\"}")).deterministic()).isTrue();
  }

  @Test
  void readsTheFieldsTheGatewayUses() {
    InspectedRequest r = chat("""
        {"model":"m1","stream":true,"stream_options":{"include_usage":true},
         "max_tokens":12,"messages":[{"role":"user","content":"hi"}],"future_param":{"x":[1,2]}}""");
    assertThat(r.model()).isEqualTo("m1");
    assertThat(r.stream()).isTrue();
    assertThat(r.includeUsage()).isTrue();
    assertThat(r.maxTokens()).isEqualTo(12);
  }

  @Test
  void includeUsageCountsOnlyForStreams() {
    InspectedRequest r = chat("""
        {"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user"}]}""");
    assertThat(r.stream()).isFalse();
    assertThat(r.includeUsage()).isFalse();
  }

  @Test
  void replacesOnlyTheModelValue() {
    String body = "{ \"temperature\" : 0.25 , \"model\" : \"gpt\\\"x\" ,\"messages\":[{\"role\":\"user\",\"content\":\"model\"}]}";
    InspectedRequest r = chat(body);
    assertThat(r.model()).isEqualTo("gpt\"x");
    String out = new String(r.withModel(utf8(body), "qwen2.5:7b"), StandardCharsets.UTF_8);
    assertThat(out).isEqualTo(body.replace("\"gpt\\\"x\"", "\"qwen2.5:7b\""));
  }

  @Test
  void keepsTheSameArrayWhenTheModelIsUnchanged() {
    byte[] body = utf8("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}");
    assertThat(chat(new String(body, StandardCharsets.UTF_8)).withModel(body, "m")).isSameAs(body);
  }

  @Test
  void replacesAModelAfterMultiByteCharacters() {
    String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"héllo 世界\"}],\"model\":\"é\"}";
    InspectedRequest r = chat(body);
    String out = new String(r.withModel(utf8(body), "目标"), StandardCharsets.UTF_8);
    assertThat(out).isEqualTo(body.replace("\"é\"", "\"目标\""));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "[]", "42", "\"x\"", "{", "{\"model\":\"m\"", "{\"model\":\"m\",}",
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]} trailing",
      "{\"model\":\"m\",\"model\":\"n\",\"messages\":[{\"role\":\"user\"}]}"})
  void rejectsBodiesThatAreNotOneJsonObject(String body) {
    assertThatThrownBy(() -> chat(body))
        .isInstanceOfSatisfying(OpenAiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.type()).isEqualTo("invalid_request_error");
        });
  }

  @Test
  void namesTheMissingOrWrongField() {
    assertParam("{\"messages\":[{\"role\":\"user\"}]}", "model");
    assertParam("{\"model\":\"\",\"messages\":[{\"role\":\"user\"}]}", "model");
    assertParam("{\"model\":7,\"messages\":[{\"role\":\"user\"}]}", "model");
    assertParam("{\"model\":\"m\"}", "messages");
    assertParam("{\"model\":\"m\",\"messages\":[]}", "messages");
    assertParam("{\"model\":\"m\",\"messages\":\"hi\"}", "messages");
    assertParam("{\"model\":\"m\",\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},3]}", "messages[1]");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"stream\":\"yes\"}", "stream");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"temperature\":3}", "temperature");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"max_tokens\":-1}", "max_tokens");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"max_tokens\":1.5}", "max_tokens");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"n\":99999999999}", "n");
    assertParam("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}],\"stream_options\":{\"include_usage\":1}}",
        "stream_options.include_usage");
  }

  @Test
  void anAdminObjectRefusesDuplicateKeysAndReadsNumbersExactly() {
    assertThatThrownBy(() -> InspectedRequest.object(utf8("{\"id\":\"x\",\"id\":\"y\"}")))
        .isInstanceOfSatisfying(OpenAiException.class, e -> assertThat(e.status()).isEqualTo(400))
        .hasMessageContaining("id");
    assertThat(InspectedRequest.object(utf8("{\"a\":1e400}")).path("a").decimalValue())
        .isEqualByComparingTo("1e400");
  }

  @Test
  void acceptsNullForOptionalFields() {
    InspectedRequest r = chat("""
        {"model":"m","messages":[{"role":"user"}],"temperature":null,"stream":null,"max_tokens":null}""");
    assertThat(r.stream()).isFalse();
    assertThat(r.maxTokens()).isNull();
  }

  @Test
  void checksEachEndpointsRequiredInput() {
    assertThat(InspectedRequest.inspect(Endpoint.COMPLETIONS, utf8("{\"model\":\"m\",\"prompt\":[1,2]}")).model())
        .isEqualTo("m");
    assertThat(InspectedRequest.inspect(Endpoint.EMBEDDINGS, utf8("{\"model\":\"m\",\"input\":\"x\"}")).stream())
        .isFalse();
    assertThatThrownBy(() -> InspectedRequest.inspect(Endpoint.EMBEDDINGS, utf8("{\"model\":\"m\",\"input\":5}")))
        .isInstanceOfSatisfying(OpenAiException.class, e -> assertThat(e.param()).isEqualTo("input"));
    assertThatThrownBy(() -> InspectedRequest.inspect(Endpoint.COMPLETIONS, utf8("{\"model\":\"m\"}")))
        .isInstanceOfSatisfying(OpenAiException.class, e -> assertThat(e.param()).isEqualTo("prompt"));
  }

  private static void assertParam(String body, String param) {
    assertThatThrownBy(() -> chat(body))
        .as(body)
        .isInstanceOfSatisfying(OpenAiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.param()).isEqualTo(param);
        });
  }
}
