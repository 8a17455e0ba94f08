package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.runtime.llama.GgufWriter;
import io.modelway.runtime.ModelHost;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code modelway up --model NAME=PATH.gguf}: the gateway calls models in its own process, the
 * built-in embedding model among them.
 */
class AllInOneModelTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String KEY = "mw-all-in-one-test";

  private static HttpResponse<String> post(int port, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesLocalModelsAndReportsOneThatFailsToLoad(@TempDir Path dir) throws Exception {
    Path tiny = GgufWriter.write(dir.resolve("tiny.gguf"), 7);
    Path broken = dir.resolve("broken.gguf");
    Files.write(broken, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1, 2, 3});
    ModelFlags flags = new ModelFlags();
    flags.models.put("tiny", tiny);
    flags.models.put("broken", broken);
    flags.slots = 2;
    flags.contextSize = 512;
    try (ModelHost models = flags.startLoading(dir);
        ConfigurableApplicationContext context = GatewayRole.start(
            GatewayOptions.of(dir).withEnvironment(Map.of("MODELWAY_ADMIN_KEY", KEY)::get)
                .withModels(models))) {
      await().atMost(Duration.ofMinutes(1)).until(models::settled);
      assertThat(models.status("broken").orElseThrow().error()).get().asString()
          .contains("broken.gguf");
      int port = GatewayRole.port(context);

      HttpResponse<String> whole = post(port, """
          {"model":"tiny","temperature":0,"seed":1,"max_tokens":6,
           "messages":[{"role":"user","content":"hello"}]}""");
      assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
      JsonNode answer = JSON.readTree(whole.body());
      String text = answer.path("choices").path(0).path("message").path("content").asString();
      assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(6);

      HttpResponse<String> streamed = post(port, """
          {"model":"tiny","temperature":0,"seed":1,"max_tokens":6,"stream":true,
           "messages":[{"role":"user","content":"hello"}]}""");
      assertThat(streamed.statusCode()).isEqualTo(200);
      StringBuilder joined = new StringBuilder();
      for (String event : streamed.body().split("\\n\\n")) {
        String data = event.substring("data: ".length());
        if (!data.equals("[DONE]")) {
          joined.append(JSON.readTree(data).path("choices").path(0).path("delta").path("content").asString(""));
        }
      }
      assertThat(streamed.body()).endsWith("data: [DONE]\n\n");
      assertThat(joined.toString()).isEqualTo(text);

      String list = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
              .header("Authorization", "Bearer " + KEY).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertThat(list).contains("\"tiny\"", "\"all-minilm-l6-v2\"").doesNotContain("broken");

      HttpResponse<String> embedded = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/v1/embeddings"))
          .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"all-minilm-l6-v2\",\"input\":\"hello\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(embedded.statusCode()).as(embedded.body()).isEqualTo(200);
      assertThat(JSON.readTree(embedded.body()).path("data").path(0).path("embedding").size())
          .isEqualTo(384);

      HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/actuator/health"))
          .header("Authorization", "Bearer " + KEY).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(health.body()).path("components").path("models").path("details")
          .path("broken").asString()).startsWith("failed: ");

      AdminCliTest.Run ps = AdminCliTest.run(Map.of("MODELWAY_ADMIN_KEY", KEY), "ps", "--url",
          "http://127.0.0.1:" + port);
      assertThat(ps.code()).as(ps.err()).isZero();
      assertThat(ps.out()).containsPattern("(?m)^tiny +ready +2 +0 +0 +0 ")
          .containsPattern("(?m)^broken +failed +0 ")
          .containsPattern("(?m)^broken: .*broken\\.gguf")
          .contains("No workers registered.");
    }
  }
}
