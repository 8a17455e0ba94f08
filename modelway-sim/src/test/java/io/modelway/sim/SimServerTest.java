package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class SimServerTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static SimServer sim;
  private static SimServer failing;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    failing = SimServer.start(SimOptions.defaults().withErrorRate(1));
  }

  @AfterAll
  static void stop() {
    sim.close();
    failing.close();
  }

  private static HttpResponse<String> post(SimServer server, String path, String body)
      throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void listsTheModelsItIsGivenAndServesAnyName() throws Exception {
    try (SimServer listing = SimServer.start(
        SimOptions.defaults().withModels(List.of("any-model", "other-model")))) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
          URI.create(listing.baseUrl() + "/models")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      List<String> ids = new ArrayList<>();
      JSON.readTree(r.body()).path("data").forEach(m -> ids.add(m.path("id").asString()));
      assertThat(ids).containsExactly("any-model", "other-model");
      assertThat(post(listing, "/chat/completions", "{\"model\":\"unlisted\","
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void continuesAFinalAssistantMessageFromAnyPointOfItsAnswer() throws Exception {
    String conversation = "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}";
    String full = JSON.readTree(post(sim, "/chat/completions", "{\"model\":\"m\"," + conversation
        + "]}").body()).path("choices").path(0).path("message").path("content").asString();
    for (int cut : new int[] {1, 7, full.length() / 2, full.length() - 1}) {
      String begun = full.substring(0, cut);
      JsonNode rest = JSON.readTree(post(sim, "/chat/completions", "{\"model\":\"m\","
          + conversation + ",{\"role\":\"assistant\",\"content\":" + JSON.writeValueAsString(begun)
          + "}],\"continue_final_message\":true,\"add_generation_prompt\":false}").body());
      assertThat(begun + rest.path("choices").path(0).path("message").path("content").asString())
          .as("cut after %d characters", cut).isEqualTo(full);
      assertThat(rest.path("choices").path(0).path("finish_reason").asString()).isEqualTo("stop");
    }
    // Without the flag, the assistant's message is answered, not continued.
    String answered = JSON.readTree(post(sim, "/chat/completions", "{\"model\":\"m\","
        + conversation + ",{\"role\":\"assistant\",\"content\":" + JSON.writeValueAsString(
        full.substring(0, 7)) + "}]}").body()).path("choices").path(0).path("message")
        .path("content").asString();
    assertThat(full.substring(0, 7) + answered).isNotEqualTo(full);
  }

  @Test
  void answersNChoicesAndBillsTheCompletionsOfBestOf() throws Exception {
    JsonNode n3 = JSON.readTree(post(sim, "/completions",
        "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":3,\"max_tokens\":5}").body());
    assertThat(n3.path("choices").size()).isEqualTo(3);
    assertThat(n3.path("usage").path("completion_tokens").asInt()).isEqualTo(15);
    JsonNode bestOf = JSON.readTree(post(sim, "/completions",
        "{\"model\":\"m\",\"prompt\":\"hi\",\"n\":2,\"best_of\":4,\"max_tokens\":5}")
        .body());
    assertThat(bestOf.path("choices").size()).isEqualTo(2);
    assertThat(bestOf.path("usage").path("completion_tokens").asInt()).isEqualTo(20);
  }

  @Test
  void sameRequestGetsTheSameAnswerAndStreamConcatenatesToIt() throws Exception {
    String request = "{\"model\":\"any-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    JsonNode a = JSON.readTree(post(sim, "/chat/completions", request).body());
    JsonNode b = JSON.readTree(post(sim, "/chat/completions", request).body());
    String text = a.path("choices").path(0).path("message").path("content").asString();
    assertThat(text).isNotBlank().isEqualTo(b.path("choices").path(0).path("message").path("content").asString());
    assertThat(a.path("model").asString()).isEqualTo("any-model");
    assertThat(a.path("usage").path("completion_tokens").asInt()).isEqualTo(16);

    String streamed = post(sim, "/chat/completions",
        request.replace("{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\"")).body();
    StringBuilder joined = new StringBuilder();
    List<JsonNode> chunks = new ArrayList<>();
    for (String event : streamed.split("\n\n")) {
      String data = event.substring("data: ".length());
      if (!data.equals("[DONE]")) {
        chunks.add(JSON.readTree(data));
      }
    }
    assertThat(streamed).endsWith("data: [DONE]\n\n");
    for (JsonNode chunk : chunks) {
      joined.append(chunk.path("choices").path(0).path("delta").path("content").asString(""));
    }
    assertThat(joined.toString()).isEqualTo(text);
    JsonNode last = chunks.get(chunks.size() - 1);
    assertThat(last.path("choices").size()).isZero();
    assertThat(last.path("usage").path("completion_tokens").asInt()).isEqualTo(16);
    assertThat(chunks.get(chunks.size() - 2).path("choices").path(0).path("finish_reason").asString()).isEqualTo("stop");
  }

  @Test
  void maxTokensCutsTheAnswerWithFinishReasonLength() throws Exception {
    JsonNode r = JSON.readTree(post(sim, "/completions",
        "{\"model\":\"m\",\"prompt\":\"once\",\"max_tokens\":3}").body());
    assertThat(r.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
    assertThat(r.path("choices").path(0).path("text").asString().split(" ")).hasSize(3);
    assertThat(r.path("choices").path(0).path("finish_reason").asString()).isEqualTo("length");
  }

  @Test
  void embeddingsAreDeterministicUnitVectors() throws Exception {
    String request = "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"dimensions\":8}";
    JsonNode a = JSON.readTree(post(sim, "/embeddings", request).body());
    JsonNode b = JSON.readTree(post(sim, "/embeddings", request).body());
    assertThat(a.path("data")).hasSize(2);
    assertThat(a.path("data")).isEqualTo(b.path("data"));
    double norm = 0;
    for (JsonNode x : a.path("data").path(0).path("embedding")) {
      norm += x.asDouble() * x.asDouble();
    }
    assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    assertThat(a.path("data").path(0).path("embedding")).isNotEqualTo(a.path("data").path(1).path("embedding"));
  }

  @Test
  void errorRateOneFailsEveryCallInOpenAiShape() throws Exception {
    HttpResponse<String> r = post(failing, "/chat/completions",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}");
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(JSON.readTree(r.body()).path("error").path("code").asString()).isEqualTo("sim_error");
    assertThat(failing.stats().injectedErrors()).isPositive();
  }

  @Test
  void rejectsInvalidBodiesWith400() throws Exception {
    HttpResponse<String> r = post(sim, "/chat/completions", "{\"model\":\"m\"");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(r.body()).path("error").path("type").asString()).isEqualTo("invalid_request_error");
  }
}
