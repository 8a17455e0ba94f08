package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Client → gateway → simulated backends, all over real HTTP. */
class GatewayProxyTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String HI = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

  private static SimServer fast;
  private static SimServer hanging;
  private static SimServer dripping;
  private static SimServer failing;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    fast = SimServer.start(SimOptions.defaults());
    hanging = SimServer.start(SimOptions.defaults().withTiming(Duration.ofSeconds(30), 0));
    dripping = SimServer.start(SimOptions.defaults().withTiming(Duration.ZERO, 20).withOutputTokens(400));
    failing = SimServer.start(SimOptions.defaults().withErrorRate(1));
    gateway = TestGateway.start("""
        gateway:
          max-request-body: 64KB
        backends:
          fast:
            url: %s
            api-key-env: FAST_KEY
            headers:
              X-Team: blue
          hanging:
            url: %s
            timeouts: {first-byte: 300ms, total: 5s}
          dripping:
            url: %s
          deadline:
            url: %s
            timeouts: {first-byte: 1s, total: 1500ms}
          failing:
            url: %s
          closed:
            url: http://127.0.0.1:1/v1
            timeouts: {connect: 2s}
        models:
          - {name: chat, backend: fast}
          - {name: renamed, backend: fast, upstream-model: real-name}
          - {name: hanging, backend: hanging}
          - {name: dripping, backend: dripping}
          - {name: deadline, backend: deadline}
          - {name: failing, backend: failing}
          - {name: closed, backend: closed}
        """.formatted(fast.baseUrl(), hanging.baseUrl(), dripping.baseUrl(), dripping.baseUrl(),
            failing.baseUrl()),
        Map.of("FAST_KEY", "sk-test-123"));
  }

  @AfterAll
  static void stop() {
    gateway.close();
    for (SimServer s : List.of(fast, hanging, dripping, failing)) {
      s.close();
    }
  }

  private static JsonNode json(String body) {
    return JSON.readTree(body);
  }

  private static void assertOpenAiError(HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("application/json"));
    JsonNode error = json(r.body()).path("error");
    assertThat(error.isObject()).as(r.body()).isTrue();
    assertThat(error.path("message").asString()).isNotBlank();
    assertThat(error.path("type").asString()).isNotBlank();
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
  }

  @Test
  void relaysAChatCompletion() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"chat\"," + HI + "}");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = json(r.body());
    assertThat(body.path("object").asString()).isEqualTo("chat.completion");
    assertThat(body.path("choices").path(0).path("message").path("content").asString()).isNotBlank();
    assertThat(body.path("usage").path("total_tokens").asInt()).isPositive();
    // a response field the gateway does not know arrives unchanged
    assertThat(body.path("system_fingerprint").asString()).isEqualTo("modelway-sim");
    assertThat(r.headers().firstValue("x-request-id")).isPresent();
  }

  @Test
  void forwardsUnknownFieldsUntouchedWithKeyAndHeaders() {
    String body = "{\"model\":\"chat\"," + HI + ",\"future_param\":{\"deep\":[1,2.50,\"x\"]},\"temperature\":0.0}";
    assertThat(gateway.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);
    JsonNode seen = json(TestGateway.send(HttpRequest.newBuilder(
        URI.create(fast.baseUrl().replace("/v1", "/sim/last-request"))).build()).body());
    assertThat(seen.path("body").asString()).isEqualTo(body);
    assertThat(seen.path("headers").path("authorization").asString()).isEqualTo("Bearer sk-test-123");
    assertThat(seen.path("headers").path("x-team").asString()).isEqualTo("blue");
  }

  @Test
  void renamesTheModelForTheBackendAndNothingElse() {
    String body = "{\"model\":\"renamed\"," + HI + ",\"n\":1}";
    HttpResponse<String> r = gateway.post("/v1/chat/completions", body);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r.body()).path("model").asString()).isEqualTo("real-name");
  }

  @Test
  void reachesAnyModelOfABackendAsBackendSlashModel() {
    HttpResponse<String> r = gateway.post("/v1/completions", "{\"model\":\"fast/some-model\",\"prompt\":\"x\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r.body()).path("model").asString()).isEqualTo("some-model");
  }

  @Test
  void relaysEmbeddings() {
    HttpResponse<String> r = gateway.post("/v1/embeddings", "{\"model\":\"chat\",\"input\":[\"a\",\"b\"],\"dimensions\":16}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r.body()).path("data")).hasSize(2);
    assertThat(json(r.body()).path("data").path(1).path("embedding")).hasSize(16);
  }

  @Test
  void streamsWithUsageAndDone() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions",
        "{\"model\":\"chat\",\"stream\":true,\"stream_options\":{\"include_usage\":true}," + HI + "}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("text/event-stream"));
    String[] events = r.body().split("\n\n");
    assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
    JsonNode usage = json(events[events.length - 2].substring(6)).path("usage");
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(16);
  }

  @Test
  void streamsChunksAsTheyArriveNotAtTheEnd() throws Exception {
    HttpResponse<InputStream> r = TestGateway.client().send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"dripping\",\"stream\":true,\"max_tokens\":20," + HI + "}"))
        .build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      String first = in.readLine();
      assertThat(first).startsWith("data: {");
      // The backend is still generating (20 tokens at 20/s) while the first chunk is here.
      assertThat(dripping.stats().inflight()).isEqualTo(1);
      List<String> data = new ArrayList<>();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("data: ")) {
          data.add(line);
        }
      }
      assertThat(data.get(data.size() - 1)).isEqualTo("data: [DONE]");
    }
  }

  @Test
  void clientDisconnectCancelsTheBackendCall() throws Exception {
    long cancelledBefore = dripping.stats().cancelled();
    String body = "{\"model\":\"dripping\",\"stream\":true," + HI + "}";
    URI uri = URI.create(gateway.url("/v1/chat/completions"));
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer " + TestGateway.KEY + "\r\n"
          + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
          .getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String line;
      do {
        line = in.readLine();
      } while (line != null && !line.startsWith("data: "));
      assertThat(line).startsWith("data: ");
      assertThat(dripping.stats().inflight()).isPositive();
    }
    // 400 tokens at 20/s would take 20 s; the backend sees the cancel within a second.
    await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> {
      assertThat(dripping.stats().cancelled()).isEqualTo(cancelledBefore + 1);
      assertThat(dripping.stats().inflight()).isZero();
    });
  }

  @Test
  void unknownModelIs404HintingOnlyAtCallableNames() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"gpt-9\"," + HI + "}");
    assertOpenAiError(r, 404);
    assertThat(json(r.body()).path("error").path("code").asString()).isEqualTo("model_not_found");
    // No configured name is near; the hint is the BACKEND/MODEL form, and no address leaks.
    assertThat(json(r.body()).path("error").path("message").asString())
        .contains("BACKEND/MODEL", "'closed/gpt-9'");
    assertThat(r.body()).doesNotContain("renamed", "127.0.0.1");
    assertOpenAiError(gateway.post("/v1/chat/completions", "{\"model\":\"nobackend/x\"," + HI + "}"), 404);
  }

  @Test
  void malformedJsonIs400() {
    assertOpenAiError(gateway.post("/v1/chat/completions", "{\"model\":"), 400);
    assertOpenAiError(gateway.post("/v1/chat/completions", ""), 400);
  }

  @Test
  void missingFieldIs400NamingIt() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"chat\"}");
    assertOpenAiError(r, 400);
    assertThat(json(r.body()).path("error").path("param").asString()).isEqualTo("messages");
  }

  @Test
  void oversizedBodyIs413() {
    String big = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(70_000) + "\"}]}";
    assertOpenAiError(gateway.post("/v1/chat/completions", big), 413);
  }

  @Test
  void wrongContentTypeIs415() {
    HttpResponse<String> r = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\"," + HI + "}")).build());
    assertOpenAiError(r, 415);
  }

  @Test
  void unknownPathIs404AndWrongMethodIs405() {
    assertOpenAiError(gateway.get("/v1/nothing-here"), 404);
    assertOpenAiError(gateway.get("/v1/chat/completions"), 405);
  }

  @Test
  void backendThatDoesNotAnswerIs504() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"hanging\"," + HI + "}");
    assertOpenAiError(r, 504);
    assertThat(json(r.body()).path("error").path("code").asString()).isEqualTo("upstream_timeout");
    assertOpenAiError(gateway.post("/v1/chat/completions", "{\"model\":\"hanging\",\"stream\":true," + HI + "}"), 504);
  }

  @Test
  void streamPastItsTotalDeadlineEndsWithAnErrorEvent() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"deadline\",\"stream\":true," + HI + "}");
    assertThat(r.statusCode()).isEqualTo(200);
    String[] events = r.body().split("\n\n");
    String last = events[events.length - 1];
    assertThat(last).startsWith("data: {\"error\"");
    assertThat(json(last.substring(6)).path("error").path("code").asString()).isEqualTo("upstream_timeout");
    assertThat(r.body()).doesNotContain("[DONE]");
  }

  @Test
  void unreachableBackendIs502() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"closed\"," + HI + "}");
    assertOpenAiError(r, 502);
    assertThat(json(r.body()).path("error").path("code").asString()).isEqualTo("upstream_unreachable");
  }

  @Test
  void backendErrorIsRelayedWithItsStatus() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"failing\"," + HI + "}");
    assertOpenAiError(r, 500);
    assertThat(json(r.body()).path("error").path("code").asString()).isEqualTo("sim_error");
  }

  @Test
  void listsAndGetsConfiguredModels() {
    JsonNode list = json(gateway.get("/v1/models").body());
    assertThat(list.path("object").asString()).isEqualTo("list");
    List<String> ids = new ArrayList<>();
    list.path("data").forEach(m -> {
      if (!m.path("modelway").path("source").asString().equals("backend")) {
        ids.add(m.path("id").asString());
      }
    });
    assertThat(ids).containsExactly("chat", "renamed", "hanging", "dripping", "deadline", "failing", "closed");
    HttpResponse<String> one = gateway.get("/v1/models/renamed");
    assertThat(one.statusCode()).isEqualTo(200);
    assertThat(json(one.body()).path("id").asString()).isEqualTo("renamed");
    assertOpenAiError(gateway.get("/v1/models/nope"), 404);
  }

  @Test
  void exposesHealthAndPrometheusMetrics() {
    gateway.post("/v1/chat/completions", "{\"model\":\"chat\"," + HI + "}");
    HttpResponse<String> health = gateway.get("/actuator/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(json(health.body()).path("status").asString()).isEqualTo("UP");
    String metrics = gateway.get("/actuator/prometheus").body();
    assertThat(metrics).contains("modelway_requests_seconds_count{backend=\"fast\",endpoint=\"chat/completions\",model=\"chat\",status=\"200\"}");
  }
}
