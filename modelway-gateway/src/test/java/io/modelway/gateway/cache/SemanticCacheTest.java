package io.modelway.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.runtime.ModelHost;
import io.modelway.runtime.onnx.EmbeddingOptions;
import io.modelway.runtime.onnx.OnnxEmbeddingBackend;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * The semantic cache through a real gateway: questions embedded by the real embedded model
 * (all-MiniLM-L6-v2 in this process), answers from a simulated chat model.
 */
class SemanticCacheTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static SimServer sim;
  private static ModelHost models;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    models = new ModelHost(spec -> OnnxEmbeddingBackend.load(spec.name(),
        new EmbeddingOptions(32, Duration.ofMillis(1), 1)), Runnable::run, Clock.systemUTC(),
        Duration.ofSeconds(1));
    models.load(new ModelHost.ModelSpec("all-minilm-l6-v2", "builtin:all-minilm-l6-v2")).join();
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim, cache: {semantic: {enabled: true}}}
          - {name: exact-only, backend: sim}
        """.formatted(sim.baseUrl()), Map.of(), options -> options.withModels(models));
  }

  @AfterAll
  static void stop() {
    gateway.close();
    models.close();
    sim.close();
  }

  private static String body(String model, String system, String question) {
    return "{\"model\":\"" + model + "\",\"temperature\":0,\"messages\":[{\"role\":\"system\","
        + "\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"" + question + "\"}]}";
  }

  private static HttpResponse<String> ask(String body, String... headers) {
    HttpRequest.Builder request = TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> answer = TestGateway.send(request.build());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    return answer;
  }

  private static String result(HttpResponse<String> answer) {
    return answer.headers().firstValue(CacheStage.RESULT_HEADER).orElse("none");
  }

  /** Asks without keeping the answer, so that a miss leaves nothing behind to match later. */
  private static HttpResponse<String> probe(String body) {
    return ask(body, "Cache-Control", "no-store");
  }

  @Test
  void aParaphraseInTheSameContextGetsTheAnswerAndOthersDoNot() {
    String system = "You answer geography questions.";
    HttpResponse<String> first = ask(body("chat", system, "What is the capital of France?"));
    assertThat(result(first)).isEqualTo("miss");
    long before = sim.stats().requests();

    String paraphrase = body("chat", system, "Which city is the capital of France?");
    // The question joins the index in the background: a paraphrase finds it at once or soon.
    await().atMost(Duration.ofSeconds(10)).until(() -> result(probe(paraphrase)).equals("semantic-hit"));
    HttpResponse<String> hit = probe(paraphrase);
    assertThat(hit.body()).isEqualTo(first.body());
    assertThat(Double.parseDouble(hit.headers().firstValue(CacheStage.SIMILARITY_HEADER)
        .orElseThrow())).isBetween(0.72, 1.0);

    long misses = sim.stats().requests();
    assertThat(result(probe(body("chat", system, "What is the capital of Germany?"))))
        .as("another entity").isEqualTo("miss");
    assertThat(result(probe(body("chat", "You answer in French.", "What is the capital of France?"))))
        .as("another system prompt").isEqualTo("miss");
    assertThat(result(probe(body("exact-only", system, "Which city is the capital of France?"))))
        .as("a model without the semantic cache").isEqualTo("miss");
    assertThat(sim.stats().requests() - misses).isEqualTo(3);
  }

  @Test
  void anotherTenantNeverGetsASemanticHit() {
    String system = "You explain arithmetic.";
    ask(body("chat", system, "How many legs does a spider have?"));
    String paraphrase = body("chat", system, "How many legs do spiders have?");
    await().atMost(Duration.ofSeconds(10)).until(() -> result(probe(paraphrase)).equals("semantic-hit"));

    assertThat(gateway.call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"sem-other\"}")
        .statusCode()).isEqualTo(201);
    String key = JSON.readTree(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"sem-other\"}").body()).path("key").asString();
    HttpResponse<String> other = TestGateway.send(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .header("Cache-Control", "no-store")
        .POST(HttpRequest.BodyPublishers.ofString(paraphrase)).build());
    assertThat(other.statusCode()).isEqualTo(200);
    assertThat(result(other)).isEqualTo("miss");
  }

  @Test
  void aPurgedEntryIsNoLongerFoundByMeaning() {
    String system = "You name colours.";
    ask(body("chat", system, "What colour is the sky on a clear day?"));
    String paraphrase = body("chat", system, "On a clear day, what colour is the sky?");
    await().atMost(Duration.ofSeconds(10)).until(() -> result(probe(paraphrase)).equals("semantic-hit"));
    assertThat(gateway.call("DELETE", "/admin/v1/cache?tenant=admin&model=chat", TestGateway.KEY,
        null).statusCode()).isEqualTo(200);
    assertThat(result(probe(paraphrase))).isEqualTo("miss");
  }
}
