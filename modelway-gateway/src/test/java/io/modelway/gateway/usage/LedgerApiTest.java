package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Every answered call lands in the ledger, with the backend's usage, and is queryable. */
class LedgerApiTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static SimServer sim;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults().withOutputTokens(7));
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  private static HttpResponse<String> chat(String requestId, boolean stream) {
    return TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json").header("x-request-id", requestId)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"stream\":" + stream
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
  }

  private static JsonNode usage(String query) {
    HttpResponse<String> r = gateway.get("/admin/v1/usage?" + query);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  @Test
  void recordsWholeAndStreamedAnswersWithTheirTokens() {
    assertThat(chat("ledger-whole", false).statusCode()).isEqualTo(200);
    HttpResponse<String> streamed = chat("ledger-stream", true);
    assertThat(streamed.body()).endsWith("data: [DONE]\n\n");

    await().atMost(Duration.ofSeconds(10)).until(() ->
        usage("request_id=ledger-whole").path("data").size() == 1
            && usage("request_id=ledger-stream").path("data").size() == 1);
    JsonNode whole = usage("request_id=ledger-whole").path("data").get(0);
    assertThat(whole.path("tenant").asString()).isEqualTo("admin");
    assertThat(whole.path("key_id").asString()).isEqualTo("admin-env");
    assertThat(whole.path("model").asString()).isEqualTo("chat");
    assertThat(whole.path("backend").asString()).isEqualTo("sim");
    assertThat(whole.path("outcome").asString()).isEqualTo("completed");
    assertThat(whole.path("completion_tokens").asLong()).isEqualTo(7);
    assertThat(whole.path("prompt_tokens").asLong()).isPositive();
    assertThat(whole.path("usage_reported").asBoolean()).isTrue();
    JsonNode stream = usage("request_id=ledger-stream").path("data").get(0);
    assertThat(stream.path("completion_tokens").asLong()).isEqualTo(7);
    assertThat(stream.path("endpoint").asString()).isEqualTo("chat/completions");
  }

  @Test
  void recordsRefusedCallsAndTotalsAndExportsCsv() {
    HttpResponse<String> unknown = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json").header("x-request-id", "ledger-404")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
    assertThat(unknown.statusCode()).isEqualTo(404);
    for (int i = 0; i < 3; i++) {
      chat("ledger-total-" + i, false);
    }
    await().atMost(Duration.ofSeconds(10)).until(() ->
        usage("request_id=ledger-404").path("data").size() == 1
            && usage("model=chat&limit=10000").path("totals").path("requests").asLong() >= 3);
    JsonNode refused = usage("request_id=ledger-404").path("data").get(0);
    assertThat(refused.path("status").asInt()).isEqualTo(404);
    assertThat(refused.path("outcome").asString()).isEqualTo("failed");
    assertThat(refused.path("completion_tokens").asLong()).isZero();

    HttpResponse<String> csv = gateway.get("/admin/v1/usage?request_id=ledger-total-1&format=csv");
    assertThat(csv.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/csv"));
    assertThat(csv.body()).startsWith("id,at,request_id,tenant,").contains(",ledger-total-1,admin,");
    assertThat(gateway.get("/admin/v1/usage?from=yesterday").statusCode()).isEqualTo(400);
  }
}
