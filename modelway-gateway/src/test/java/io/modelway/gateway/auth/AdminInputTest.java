package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admin API refuses what {@code /v1} refuses and what its store cannot hold, with a 4xx in
 * the OpenAI error shape: regressions of issue 13, item 9 (each of these was a 500 or was
 * accepted).
 */
class AdminInputTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static SimServer sim;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim, cache: {mode: always}}
        """.formatted(sim.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  /** The message of {@code response}'s 400 OpenAI error. */
  private static String refusal(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isBetween(400, 499);
    JsonNode error = JSON.readTree(response.body()).path("error");
    assertThat(error.path("message").isString()).as(response.body()).isTrue();
    assertThat(error.path("type").isString()).as(response.body()).isTrue();
    assertThat(error.has("param") && error.has("code")).as(response.body()).isTrue();
    return error.path("message").asString();
  }

  private static HttpResponse<String> send(String method, String path, String contentType,
      String body) {
    return TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url(path))))
        .header("Content-Type", contentType)
        .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
  }

  @Test
  void duplicateKeysAreRefusedAsOnV1() {
    assertThat(refusal(gateway.post("/admin/v1/tenants", "{\"id\":\"dup-x\",\"id\":\"dup-y\"}")))
        .contains("id");
    assertThat(gateway.get("/admin/v1/tenants").body()).doesNotContain("dup-y");
  }

  @Test
  void unknownFieldsAreRefusedNamingTheAcceptedOnes() {
    assertThat(refusal(gateway.post("/admin/v1/tenants", "{\"id\":\"typo\",\"plna\":\"gold\"}")))
        .contains("plna").contains("plan");
    assertThat(refusal(gateway.post("/admin/v1/keys", "{\"tenant\":\"admin\",\"expires\":\"1d\"}")))
        .contains("expires");
    assertThat(refusal(gateway.call("PUT", "/admin/v1/aliases/a1", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat\"}],\"stiky\":\"key\"}"))).contains("stiky");
    assertThat(refusal(gateway.call("PUT", "/admin/v1/aliases/a1", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat\",\"wieght\":1}]}"))).contains("wieght");
  }

  @Test
  void loneSurrogatesAreRefusedInEveryString() {
    assertThat(refusal(gateway.post("/admin/v1/tenants", "{\"id\":\"lone\",\"name\":\"a\\ud800b\"}")))
        .contains("name");
    assertThat(refusal(gateway.post("/admin/v1/plans",
        "{\"id\":\"lone\",\"models\":[\"x\\udc00\"]}"))).contains("models");
    assertThat(gateway.get("/admin/v1/tenants").body()).doesNotContain("\"lone\"");
  }

  @Test
  void identifiersAndNamesAreLimitedTo200Characters() {
    String longName = "m".repeat(100_000);
    assertThat(refusal(gateway.post("/admin/v1/plans",
        "{\"id\":\"long\",\"models\":[\"" + longName + "\"]}"))).contains("200");
    assertThat(refusal(gateway.post("/admin/v1/plans",
        "{\"id\":\"long\",\"model_limits\":{\"" + "m".repeat(1000)
            + "\":{\"max_concurrent\":1}}}")))
        .contains("200");
    assertThat(refusal(gateway.post("/admin/v1/tenants",
        "{\"id\":\"long\",\"name\":\"" + "n".repeat(201) + "\"}"))).contains("200");
    assertThat(refusal(gateway.post("/admin/v1/keys",
        "{\"tenant\":\"admin\",\"name\":\"" + "k".repeat(201) + "\"}"))).contains("200");
    assertThat(refusal(send("PUT", "/admin/v1/prices/" + "p".repeat(300), "application/json",
        "{\"currency\":\"USD\",\"input\":1,\"output\":1}"))).contains("200");
    assertThat(refusal(gateway.call("PUT", "/admin/v1/aliases/" + "a".repeat(300),
        TestGateway.KEY, "{\"targets\":[{\"model\":\"chat\"}]}"))).contains("200");
    // Many names within the limit each, more than the store can hold together.
    StringBuilder many = new StringBuilder("[");
    for (int i = 0; i < 100; i++) {
      many.append(i == 0 ? "" : ",").append("\"model-").append("x".repeat(150)).append(i)
          .append('"');
    }
    assertThat(refusal(gateway.post("/admin/v1/plans",
        "{\"id\":\"many\",\"models\":" + many + "]}"))).contains("models");
  }

  @Test
  void changesWithinTheLimitsAreAuditedEvenWhenTheirRecordIsLong() {
    // A plan as large as the limits allow: its audit record (the plan as JSON) is cut, not
    // refused by the audit log's column.
    StringBuilder models = new StringBuilder("[");
    for (int i = 0; i < 25; i++) {
      models.append(i == 0 ? "" : ",").append("\"model-").append("x".repeat(140)).append(i)
          .append('"');
    }
    HttpResponse<String> plan = gateway.post("/admin/v1/plans",
        "{\"id\":\"large\",\"models\":" + models + "]}");
    assertThat(plan.statusCode()).as(plan.body()).isEqualTo(201);
    HttpResponse<String> purge = gateway.call("DELETE", "/admin/v1/cache?tenant="
        + "t".repeat(200) + "&model=" + "m".repeat(200), TestGateway.KEY, null);
    assertThat(purge.statusCode()).as(purge.body()).isEqualTo(200);
    assertThat(gateway.get("/admin/v1/audit?limit=5").body()).contains("plan.create",
        "cache.purge");
  }

  @Test
  void numbersOutOfEveryRangeAreRefused() {
    for (String number : new String[] {"1.7976931348623157e309", "1e400", "1e999999999",
        "-1e-999999999"}) {
      assertThat(refusal(send("PUT", "/admin/v1/prices/m", "application/json",
          "{\"currency\":\"USD\",\"input\":" + number + ",\"output\":1}"))).contains("input");
      assertThat(refusal(gateway.post("/admin/v1/plans",
          "{\"id\":\"big\",\"monthly_budget\":" + number + ",\"budget_currency\":\"USD\"}")))
          .contains("monthly_budget");
    }
  }

  @Test
  void malformedContentTypesAreA4xx() {
    for (String type : new String[] {"application/json, text/plain", ";;;",
        "application/json; boundary=", "application/json; charset=nope", "/", "application/"}) {
      refusal(send("POST", "/admin/v1/tenants", type, "{\"id\":\"ct\"}"));
      refusal(send("POST", "/v1/chat/completions", type,
          "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
    }
  }

  @Test
  void dotSegmentsInThePathAreA4xx() {
    for (String path : new String[] {"/actuator/health/../../admin/v1/audit",
        "/admin/v1/../v1/models", "/v1/./models/..", "/admin/v1/prices/%2e%2e/x"}) {
      HttpResponse<String> r = TestGateway.send(TestGateway.authorized(
          HttpRequest.newBuilder(URI.create(gateway.url("/x")))).uri(URI.create(gateway.url("")
          + path)).GET().build());
      assertThat(r.statusCode()).as(path + " " + r.body()).isLessThan(500);
    }
  }

  @Test
  void aCacheableCallWithANumberBeyondDoublesIsAnswered() {
    HttpResponse<String> r = gateway.post("/v1/chat/completions", "{\"model\":\"chat\","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logit_bias\":{\"1\":1e400}}");
    assertThat(r.statusCode()).as(r.body()).isLessThan(500);
  }
}
