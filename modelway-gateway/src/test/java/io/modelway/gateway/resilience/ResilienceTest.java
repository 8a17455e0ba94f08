package io.modelway.gateway.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.ChaosMode;
import io.modelway.sim.ChaosTrigger;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Client → gateway → simulated servers that fail, hang or die: retries on another instance,
 * deadlines, fallback chains and mid-stream failover, end to end over real HTTP.
 */
class ResilienceTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final List<SimServer> sims = new ArrayList<>();
  private TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    sims.forEach(SimServer::close);
  }

  private SimServer sim(SimOptions options) {
    SimServer sim = SimServer.start(options);
    sims.add(sim);
    return sim;
  }

  private static String chat(String model, boolean stream) {
    return "{\"model\":\"" + model + "\",\"stream\":" + stream
        + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "")
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about rivers\"}]}";
  }

  private HttpResponse<String> post(String body, String requestId) {
    return TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-cache, no-store")
        .header("x-request-id", requestId)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  /** The text a sim with {@code options} answers to {@code body}, asked directly. */
  private String reference(SimOptions options, String body) {
    SimServer direct = sim(options);
    HttpResponse<String> r = TestGateway.send(HttpRequest.newBuilder(
            URI.create(direct.baseUrl() + "/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertThat(r.statusCode()).isEqualTo(200);
    return JSON.readTree(r.body()).path("choices").path(0).path("message").path("content")
        .asString();
  }

  /** A stream's events, parsed; {@code [DONE]} as a text node. */
  private static List<JsonNode> events(String body) {
    List<JsonNode> out = new ArrayList<>();
    for (String event : body.split("\n\n")) {
      if (event.startsWith("data: ")) {
        String data = event.substring(6).trim();
        out.add(data.equals("[DONE]") ? JSON.getNodeFactory().stringNode("[DONE]")
            : JSON.readTree(data));
      }
    }
    return out;
  }

  private static String text(List<JsonNode> events) {
    StringBuilder text = new StringBuilder();
    events.forEach(e -> text.append(e.path("choices").path(0).path("delta").path("content")
        .asString("")));
    return text.toString();
  }

  private JsonNode ledgerRow(String requestId) {
    await().atMost(Duration.ofSeconds(10)).until(() ->
        JSON.readTree(gateway.get("/admin/v1/usage?request_id=" + requestId).body())
            .path("data").size() == 1);
    return JSON.readTree(gateway.get("/admin/v1/usage?request_id=" + requestId).body())
        .path("data").get(0);
  }

  @Test
  void retriesFailedCallsOnAnotherInstanceSoNoClientSeesAFailure() {
    SimServer broken = sim(SimOptions.defaults().withErrorRate(1));
    SimServer healthy = sim(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          broken: {url: '%s'}
          healthy: {url: '%s'}
        models:
          - name: chat
            backends: [{backend: broken}, {backend: healthy}]
            routing: {policy: round-robin}
            resilience: {retries: 2, backoff: 5ms}
        """.formatted(broken.baseUrl(), healthy.baseUrl()), Map.of());
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = post(chat("chat", i % 2 == 0), "retry-" + i);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).doesNotContain("\"error\"");
    }
    assertThat(broken.stats().injectedErrors()).as("calls the broken instance failed").isPositive();
    // The sim counts an answer when its last token has been handed to the connection, which can
    // be just after the client has read it.
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(healthy.stats().completed()).isEqualTo(20));
  }

  @Test
  void retriesAreBoundedByTheModelsBudget() {
    SimServer a = sim(SimOptions.defaults().withErrorRate(1));
    SimServer b = sim(SimOptions.defaults().withErrorRate(1));
    SimServer c = sim(SimOptions.defaults().withErrorRate(1));
    gateway = TestGateway.start("""
        backends:
          a: {url: '%s'}
          b: {url: '%s'}
          c: {url: '%s'}
        models:
          - name: chat
            backends: [{backend: a}, {backend: b}, {backend: c}]
            resilience: {retries: 1, backoff: 1ms}
        """.formatted(a.baseUrl(), b.baseUrl(), c.baseUrl()), Map.of());
    HttpResponse<String> r = post(chat("chat", false), "budget");
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(a.stats().requests() + b.stats().requests() + c.stats().requests())
        .as("the call and its one retry, each on another instance").isEqualTo(2);
    assertThat(List.of(a, b, c)).allSatisfy(s -> assertThat(s.stats().requests()).isLessThan(2));
  }

  @Test
  void aModelsDeadlineEndsAHangingCallWith504() {
    SimServer hung = sim(SimOptions.defaults().withHangTokens(0)
        .withChaos(ChaosTrigger.afterRequests(ChaosMode.HANG, 0)));
    gateway = TestGateway.start("""
        backends:
          hung: {url: '%s'}
        models:
          - name: chat
            backend: hung
            resilience: {deadlines: {first-token: 200ms, total: 400ms}}
        """.formatted(hung.baseUrl()), Map.of());
    // The backend's own deadlines are 60 s and 10 min: only the model's can end these calls.
    HttpResponse<String> whole = post(chat("chat", false), "deadline-whole");
    assertThat(whole.statusCode()).as(whole.body()).isEqualTo(504);
    assertThat(whole.body()).contains("upstream_timeout", "total 400ms");
    HttpResponse<String> streamed = post(chat("chat", true), "deadline-stream");
    assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(504);
    assertThat(streamed.body()).contains("upstream_timeout", "first-byte 200ms");
  }

  @Test
  void aFailingModelFallsBackToTheNextOfItsChainAndTheLedgerSaysSo() {
    SimServer failing = sim(SimOptions.defaults().withChaos(
        ChaosTrigger.afterRequests(ChaosMode.FAIL, 0)));
    SimServer spare = sim(SimOptions.defaults());
    int closedPort = spare.port() == 1 ? 2 : 1; // nothing listens on ports below 1024 here
    gateway = TestGateway.start("""
        backends:
          failing: {url: '%s'}
          gone: {url: 'http://127.0.0.1:%d/v1'}
          spare: {url: '%s'}
        models:
          - name: primary
            backend: failing
            resilience: {retries: 0}
            fallbacks: [secondary, tertiary]
          - name: secondary
            backend: gone
          - name: tertiary
            backend: spare
            upstream-model: spare-model
          - name: doomed
            backend: failing
            fallbacks: [secondary]
        """.formatted(failing.baseUrl(), closedPort, spare.baseUrl()), Map.of());

    HttpResponse<String> r = post(chat("primary", false), "fallback-1");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-modelway-fallback")).hasValue("tertiary");
    assertThat(JSON.readTree(spare.stats() == null ? "{}" : lastRequest(spare))
        .path("model").asString()).isEqualTo("spare-model");
    JsonNode row = ledgerRow("fallback-1");
    assertThat(row.path("model").asString()).isEqualTo("primary");
    assertThat(row.path("served_model").asString()).isEqualTo("tertiary");
    assertThat(row.path("backend").asString()).isEqualTo("spare");
    assertThat(row.path("outcome").asString()).isEqualTo("completed");

    HttpResponse<String> streamed = post(chat("primary", true), "fallback-2");
    assertThat(streamed.statusCode()).isEqualTo(200);
    assertThat(streamed.headers().firstValue("x-modelway-fallback")).hasValue("tertiary");
    assertThat(streamed.body()).endsWith("data: [DONE]\n\n");

    // Every model of the chain failed: a clear 503, not the last backend's error.
    HttpResponse<String> doomed = post(chat("doomed", false), "fallback-3");
    assertThat(doomed.statusCode()).as(doomed.body()).isEqualTo(503);
    assertThat(doomed.body()).contains("model_unavailable", "'doomed'", "secondary");
    assertThat(doomed.headers().firstValue("x-modelway-fallback")).isEmpty();
  }

  private static String lastRequest(SimServer sim) {
    HttpResponse<String> r = TestGateway.send(HttpRequest.newBuilder(
        URI.create(sim.baseUrl().replace("/v1", "/sim/last-request"))).GET().build());
    return JSON.readTree(r.body()).path("body").asString();
  }

  @Test
  void aStreamWhoseInstanceStallsContinuesOnAnotherWithNothingLostOrRepeated() {
    SimOptions options = SimOptions.defaults().withOutputTokens(24);
    SimServer stalling = sim(options.withHangTokens(7)
        .withChaos(ChaosTrigger.afterRequests(ChaosMode.HANG, 0)));
    SimServer other = sim(options);
    gateway = TestGateway.start("""
        backends:
          stalling: {url: '%s'}
          other: {url: '%s'}
        models:
          - name: chat
            backends: [{backend: stalling, weight: 100}, {backend: other}]
            routing: {policy: weighted}
            resilience: {deadlines: {first-token: 300ms}}
        """.formatted(stalling.baseUrl(), other.baseUrl()), Map.of());

    HttpResponse<String> r = post(chat("chat", true), "failover-stall");
    assertThat(r.statusCode()).isEqualTo(200);
    assertSpliced(r.body(), reference(options, chat("chat", false)), 24);
    assertThat(stalling.stats().requests()).isEqualTo(1);
    assertThat(lastRequest(other)).contains("\"continue_final_message\":true",
        "\"add_generation_prompt\":false");
    JsonNode row = ledgerRow("failover-stall");
    assertThat(row.path("completion_tokens").asLong()).isEqualTo(24);
    assertThat(row.path("outcome").asString()).isEqualTo("completed");
  }

  @Test
  void aStreamWhoseInstanceDiesContinuesOnAnotherWithNothingLostOrRepeated() throws Exception {
    SimOptions options = SimOptions.defaults().withOutputTokens(30).withTiming(Duration.ZERO, 50);
    SimServer dying = sim(options);
    SimServer other = sim(options);
    gateway = TestGateway.start("""
        backends:
          dying: {url: '%s'}
          other: {url: '%s'}
        models:
          - name: chat
            backends: [{backend: dying, weight: 100}, {backend: other}]
            routing: {policy: weighted}
        """.formatted(dying.baseUrl(), other.baseUrl()), Map.of());

    HttpResponse<java.util.stream.Stream<String>> r = TestGateway.client().send(
        TestGateway.authorized(HttpRequest.newBuilder(
                URI.create(gateway.url("/v1/chat/completions"))))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(chat("chat", true))).build(),
        HttpResponse.BodyHandlers.ofLines());
    assertThat(r.statusCode()).isEqualTo(200);
    StringBuilder body = new StringBuilder();
    int[] tokens = {0};
    r.body().forEach(line -> {
      body.append(line).append('\n');
      if (line.contains("\"content\":\"") && ++tokens[0] == 5) {
        dying.switchChaosMode(ChaosMode.DIE); // kill -9 in the middle of the answer
      }
    });
    assertSpliced(body.toString(), reference(options, chat("chat", false)), 30);
    assertThat(other.stats().requests()).isEqualTo(1);
  }

  @Test
  void aStreamThatCannotBeContinuedEndsWithACutFinishReasonAndAnErrorEvent() {
    SimServer stalling = sim(SimOptions.defaults().withHangTokens(3)
        .withChaos(ChaosTrigger.afterRequests(ChaosMode.HANG, 0)));
    gateway = TestGateway.start("""
        backends:
          stalling: {url: '%s'}
        models:
          - name: chat
            backend: stalling
            resilience: {deadlines: {first-token: 200ms}}
        """.formatted(stalling.baseUrl()), Map.of());
    HttpResponse<String> r = post(chat("chat", true), "cut");
    assertThat(r.statusCode()).isEqualTo(200);
    List<JsonNode> events = events(r.body());
    assertThat(text(events)).isNotEmpty();
    JsonNode last = events.get(events.size() - 1);
    JsonNode cut = events.get(events.size() - 2);
    assertThat(cut.path("choices").path(0).path("finish_reason").asString())
        .isEqualTo(StreamSplice.CUT);
    assertThat(cut.path("id").asString()).isEqualTo(events.get(0).path("id").asString());
    assertThat(last.path("error").path("code").asString()).isEqualTo("upstream_timeout");
    assertThat(r.body()).doesNotContain("[DONE]");
  }

  /** One well-formed stream whose text is {@code expected}: one id, one role, one finish. */
  private static void assertSpliced(String body, String expected, int tokens) {
    List<JsonNode> events = events(body);
    assertThat(events).isNotEmpty();
    assertThat(events.get(events.size() - 1).asString("")).isEqualTo("[DONE]");
    List<JsonNode> chunks = events.subList(0, events.size() - 1);
    assertThat(chunks).allSatisfy(e -> assertThat(e.has("error")).isFalse());
    assertThat(text(chunks)).isEqualTo(expected);
    assertThat(chunks).extracting(e -> e.path("id").asString()).containsOnly(
        chunks.get(0).path("id").asString());
    assertThat(chunks).filteredOn(e -> e.path("choices").path(0).path("delta").has("role"))
        .hasSize(1);
    assertThat(chunks).filteredOn(e -> e.path("choices").path(0).path("finish_reason").isString())
        .extracting(e -> e.path("choices").path(0).path("finish_reason").asString())
        .containsExactly("stop");
    JsonNode usage = chunks.get(chunks.size() - 1).path("usage");
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(tokens);
  }

  @Test
  void aClientThatGoesAwayCancelsTheCallOnTheInstanceOfAPool() throws Exception {
    SimOptions dripping = SimOptions.defaults().withTiming(Duration.ZERO, 20).withOutputTokens(400);
    SimServer a = sim(dripping);
    SimServer b = sim(dripping);
    gateway = TestGateway.start("""
        backends:
          a: {url: '%s', max-concurrent: 4}
          b: {url: '%s', max-concurrent: 4}
        models:
          - name: chat
            backends: [{backend: a}, {backend: b}]
        """.formatted(a.baseUrl(), b.baseUrl()), Map.of());
    String body = chat("chat", true);
    URI uri = URI.create(gateway.url("/v1/chat/completions"));
    try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer " + TestGateway.KEY + "\r\nCache-Control: no-cache, no-store\r\n"
          + "Content-Length: " + body.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
          + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      out.flush();
      java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
          socket.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
      String line;
      do {
        line = in.readLine();
      } while (line != null && !line.startsWith("data: "));
      assertThat(line).startsWith("data: ");
      assertThat(a.stats().inflight() + b.stats().inflight()).isEqualTo(1);
    }
    // 400 tokens at 20 a second would take 20 s: the instance hears of the hang-up long before,
    // and the call is not continued elsewhere (nobody is listening).
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      assertThat(a.stats().cancelled() + b.stats().cancelled()).isEqualTo(1);
      assertThat(a.stats().inflight() + b.stats().inflight()).isZero();
    });
    assertThat(a.stats().requests() + b.stats().requests()).isEqualTo(1);
  }
}
