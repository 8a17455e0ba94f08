package io.modelway.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class OnnxEmbeddingBackendTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final String LONG_TEXT = "Dynamic batching gathers the inputs of concurrent requests "
      + "into one call of the model, so that the matrix multiplications of a transformer run over "
      + "many rows at once; padding every input to the longest in the batch and masking the padding "
      + "out of attention and pooling keeps each vector what it would have been alone.";

  static OnnxEmbeddingBackend backend;

  @BeforeAll
  static void load() {
    backend = OnnxEmbeddingBackend.load("all-minilm-l6-v2",
        new EmbeddingOptions(32, Duration.ofMillis(2), 2));
  }

  @AfterAll
  static void close() {
    backend.close();
  }

  @Test
  void paraphrasesScoreHigherThanUnrelatedSentences() {
    String[][] triples = {
        {"A man is playing a guitar.", "Someone is strumming a guitar.",
            "The stock market fell sharply today."},
        {"How do I reset my password?", "I forgot my password, how can I change it?",
            "The recipe calls for two cups of flour."},
        {"The cat sat on the mat.", "A cat was sitting on a rug.",
            "Quantum computers use qubits instead of bits."},
    };
    for (String[] t : triples) {
      List<float[]> v = vectors(embed(request(t)));

      double paraphrase = dot(v.get(0), v.get(1));
      double unrelated = dot(v.get(0), v.get(2));
      assertThat(paraphrase).as("cos(%s, %s)", t[0], t[1]).isGreaterThan(0.5);
      assertThat(paraphrase).as("cos(%s, %s) vs unrelated %s", t[0], t[1], unrelated)
          .isGreaterThan(unrelated + 0.3);
    }
  }

  @Test
  void batchedVectorsEqualUnbatchedOnesWithin1e5() {
    String[] inputs = {"Hi", "A man is playing a guitar.", LONG_TEXT, "ok then", "Paris"};
    List<float[]> alone = new ArrayList<>();
    for (String input : inputs) {
      alone.add(vectors(embed(request(input))).get(0));
    }
    long before = backend.modelCalls();

    List<float[]> together = vectors(embed(request(inputs)));

    assertThat(backend.modelCalls() - before).as("one batch for the five inputs").isEqualTo(1);
    for (int i = 0; i < inputs.length; i++) {
      for (int d = 0; d < 384; d++) {
        assertThat(together.get(i)[d]).as("input %d, dimension %d", i, d)
            .isCloseTo(alone.get(i)[d], within(1e-5f));
      }
    }
  }

  @Test
  void concurrentRequestsAreGatheredIntoFewerModelCalls() {
    int requests = 16;
    try (OnnxEmbeddingBackend slow = OnnxEmbeddingBackend.load("batching",
        new EmbeddingOptions(32, Duration.ofMillis(250), 2))) {
      List<Mono<JsonNode>> calls = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        calls.add(answer(slow, request("sentence number " + i + " about batching")));
      }

      List<JsonNode> answers = Flux.merge(calls).collectList().block(TIMEOUT);

      assertThat(answers).hasSize(requests);
      assertThat(slow.modelCalls()).isGreaterThan(0).isLessThan(requests);
      assertThat(slow.modelCalls()).as("16 inputs within 250 ms fill one batch").isEqualTo(1);
    }
  }

  @Test
  void inputsOfOneRequestKeepTheirOrderAcrossBatches() {
    try (OnnxEmbeddingBackend small = OnnxEmbeddingBackend.load("small-batches",
        new EmbeddingOptions(3, Duration.ZERO, 2))) {
      String[] inputs = new String[10];
      for (int i = 0; i < inputs.length; i++) {
        inputs[i] = i % 2 == 0 ? "the number " + i : LONG_TEXT + " " + i;
      }

      JsonNode answer = answer(small, request(inputs)).block(TIMEOUT);

      assertThat(small.modelCalls()).isEqualTo(4);
      List<float[]> split = vectors(answer);
      for (int i = 0; i < inputs.length; i++) {
        assertThat(answer.at("/data/" + i + "/index").asInt()).isEqualTo(i);
        float[] alone = vectors(embed(request(inputs[i]))).get(0);
        assertThat(dot(split.get(i), alone)).as("input %d", i).isCloseTo(1.0, within(1e-5));
      }
    }
  }

  @Test
  void answersInTheOpenAiShape() {
    JsonNode answer = embed(request("hello world", "second input"));

    assertThat(answer.path("object").stringValue()).isEqualTo("list");
    assertThat(answer.path("model").stringValue()).isEqualTo("all-minilm-l6-v2");
    assertThat(answer.path("data")).hasSize(2);
    assertThat(answer.at("/data/1/object").stringValue()).isEqualTo("embedding");
    assertThat(answer.at("/data/1/index").asInt()).isEqualTo(1);
    assertThat(answer.at("/data/0/embedding")).hasSize(384);
    assertThat(backend.name()).isEqualTo("all-minilm-l6-v2");
  }

  @Test
  void usageCountsTheTokensOfTheModelsTokenizerWithoutPadding() {
    // "hello world" is [CLS] hello world [SEP]; the long text is counted by the tokenizer itself.
    int hello = backend.countTokens("hello world");
    int longer = backend.countTokens(LONG_TEXT);
    assertThat(hello).isEqualTo(4);
    assertThat(longer).isGreaterThan(50);

    JsonNode single = embed(request("hello world"));
    JsonNode batch = embed(request("hello world", LONG_TEXT));

    assertThat(single.at("/usage/prompt_tokens").asInt()).isEqualTo(4);
    assertThat(single.at("/usage/total_tokens").asInt()).isEqualTo(4);
    assertThat(batch.at("/usage/prompt_tokens").asInt()).isEqualTo(hello + longer);
    assertThat(batch.at("/usage/total_tokens").asInt()).isEqualTo(hello + longer);
  }

  @Test
  void base64DecodesToTheSameFloats() {
    String body = "{\"model\":\"all-minilm-l6-v2\",\"input\":[\"a red apple\",\"" + LONG_TEXT + "\"]";
    JsonNode floats = embed(body + "}");
    JsonNode base64 = embed(body + ",\"encoding_format\":\"base64\"}");

    for (int i = 0; i < 2; i++) {
      byte[] bytes = Base64.getDecoder().decode(base64.at("/data/" + i + "/embedding").stringValue());
      assertThat(bytes).hasSize(384 * 4);
      float[] decoded = new float[384];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(decoded);
      assertThat(decoded).containsExactly(vectors(floats).get(i));
    }
  }

  @Test
  void vectorsAreUnitLength() {
    for (float[] v : vectors(embed(request("x", "A longer sentence with more words.", LONG_TEXT)))) {
      assertThat(v).hasSize(384);
      assertThat(dot(v, v)).isCloseTo(1.0, within(1e-5));
    }
  }

  @Test
  void acceptsDimensionsOf384() {
    JsonNode answer = embed(
        "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hi\",\"dimensions\":384}");

    assertThat(answer.at("/data/0/embedding")).hasSize(384);
  }

  static Stream<Arguments> invalidRequests() {
    String m = "{\"model\":\"all-minilm-l6-v2\",";
    return Stream.of(
        Arguments.of(m + "\"input\":[1,2,3]}", "input", "Token input is not supported"),
        Arguments.of(m + "\"input\":[[1,2],[3]]}", "input", "Token input is not supported"),
        Arguments.of(m + "\"input\":[]}", "input", "empty array"),
        Arguments.of(m + "\"input\":\"\"}", "input", "must not be empty"),
        Arguments.of(m + "\"input\":[\"ok\",\"\"]}", "input[1]", "must not be empty"),
        Arguments.of(m + "\"input\":[\"ok\",{}]}", "input[1]", "must be a string"),
        Arguments.of(m + "\"input\":42}", "input", "string or an array"),
        Arguments.of("{\"model\":\"all-minilm-l6-v2\"}", "input", "Missing required"),
        Arguments.of(m + "\"input\":\"hi\",\"dimensions\":128}", "dimensions", "expected: 384"),
        Arguments.of(m + "\"input\":\"hi\",\"encoding_format\":\"hex\"}", "encoding_format",
            "'float' or 'base64'"),
        Arguments.of(m + "\"input\":\"" + "word ".repeat(600) + "\"}", "input",
            "takes at most 512"));
  }

  @ParameterizedTest
  @MethodSource("invalidRequests")
  void refusesInvalidRequestsWith400NamingTheParam(String body, String param, String message) {
    assertThatThrownBy(() -> embed(body))
        .isInstanceOfSatisfying(OpenAiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.param()).isEqualTo(param);
          assertThat(e.getMessage()).contains(message);
        });
  }

  @Test
  void refusesChatCompletionsWith400() {
    BackendCall chat = new BackendCall(Endpoint.CHAT_COMPLETIONS,
        "{\"model\":\"all-minilm-l6-v2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8), false, "req-1");

    assertThatThrownBy(() -> backend.send(chat).block(TIMEOUT))
        .isInstanceOfSatisfying(OpenAiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.getMessage()).contains("serves only embeddings");
        });
  }

  @Test
  void rejectsWith503WhenTheQueueIsFull() {
    try (OnnxEmbeddingBackend one = OnnxEmbeddingBackend.load("one-at-a-time",
        new EmbeddingOptions(1, Duration.ZERO, 1))) {
      String[] full = new String[OnnxEmbeddingBackend.MAX_INPUTS];
      java.util.Arrays.fill(full, LONG_TEXT);
      Mono<JsonNode> first = answer(one, request(full));
      first.subscribe(answer -> { }, error -> { });

      assertThatThrownBy(() -> answer(one, request(full[0], full[0], full[0])).block(TIMEOUT))
          .isInstanceOfSatisfying(OpenAiException.class,
              e -> assertThat(e.status()).isEqualTo(503));
    }
  }

  // --- helpers

  private static String request(String... inputs) {
    return "{\"model\":\"all-minilm-l6-v2\",\"input\":" + JSON.writeValueAsString(inputs) + "}";
  }

  private static JsonNode embed(String body) {
    return answer(backend, body).block(TIMEOUT);
  }

  private static Mono<JsonNode> answer(OnnxEmbeddingBackend on, String body) {
    BackendCall call = new BackendCall(
        Endpoint.EMBEDDINGS, body.getBytes(StandardCharsets.UTF_8), false, "req-1");
    return on.send(call).flatMap(response -> {
      assertThat(response.status()).isEqualTo(200);
      assertThat(response.contentType()).isEqualTo("application/json");
      return join(response).map(bytes -> {
        assertThat(bytes).hasSize((int) response.contentLength());
        return JSON.readTree(bytes);
      });
    });
  }

  private static Mono<byte[]> join(BackendResponse response) {
    return response.body().collectList().map(parts -> {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      parts.forEach(out::writeBytes);
      return out.toByteArray();
    });
  }

  private static List<float[]> vectors(JsonNode answer) {
    List<float[]> out = new ArrayList<>();
    for (JsonNode item : answer.path("data")) {
      JsonNode e = item.path("embedding");
      float[] v = new float[e.size()];
      for (int d = 0; d < v.length; d++) {
        v[d] = e.get(d).floatValue();
      }
      out.add(v);
    }
    return out;
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
