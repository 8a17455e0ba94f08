package io.modelway.gateway.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Plans through the admin API, held to on the OpenAI API of a real gateway. */
class RateLimitsTest {
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
          - {name: chat, backend: sim}
          - {name: other, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  static HttpResponse<String> call(String method, String path, String key, String body) {
    return gateway.call(method, path, key, body);
  }

  static JsonNode ok(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isBetween(200, 201);
    return JSON.readTree(response.body());
  }

  /** A tenant on {@code plan} and a member key of it; the key's secret. */
  private static String tenantOn(String tenant, String plan) {
    ok(call("POST", "/admin/v1/tenants", TestGateway.KEY,
        "{\"id\":\"" + tenant + "\",\"plan\":\"" + plan + "\"}"));
    return ok(call("POST", "/admin/v1/keys", TestGateway.KEY, "{\"tenant\":\"" + tenant + "\"}"))
        .path("key").asString();
  }

  private static CompletableFuture<HttpResponse<String>> chatAsync(String key, String model) {
    return TestGateway.client().sendAsync(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void twoHundredConcurrentCallsAgainstFiftyPerMinuteAdmitExactlyFifty() {
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"fifty\",\"requests_per_minute\":50}"));
    String key = tenantOn("flood", "fifty");
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      calls.add(chatAsync(key, "chat"));
    }
    List<HttpResponse<String>> answers = calls.stream().map(CompletableFuture::join).toList();
    assertThat(answers.stream().filter(a -> a.statusCode() == 200).count()).isEqualTo(50);
    List<HttpResponse<String>> refused = answers.stream().filter(a -> a.statusCode() == 429).toList();
    assertThat(refused).hasSize(150);
    HttpResponse<String> one = refused.get(0);
    JsonNode error = JSON.readTree(one.body()).path("error");
    assertThat(error.path("type").asString()).isEqualTo("requests");
    assertThat(error.path("code").asString()).isEqualTo("rate_limit_exceeded");
    assertThat(error.path("message").asString()).contains("tenant 'flood' (plan 'fifty')");
    assertThat(Long.parseLong(one.headers().firstValue("retry-after").orElseThrow()))
        .isBetween(1L, 60L);
    assertThat(one.headers().firstValue("x-ratelimit-limit-requests")).contains("50");
    assertThat(one.headers().firstValue("x-ratelimit-remaining-requests")).contains("0");
    assertThat(one.headers().firstValue("x-ratelimit-reset-requests")).isPresent();
    HttpResponse<String> admitted = answers.stream().filter(a -> a.statusCode() == 200)
        .findFirst().orElseThrow();
    assertThat(admitted.headers().firstValue("x-ratelimit-limit-requests")).contains("50");
    assertThat(admitted.headers().firstValue("x-ratelimit-remaining-requests")).isPresent();
  }

  @Test
  void aKeysOwnPlanAndAModelLimitApplyOnTopOfTheTenants() {
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, """
        {"id": "team", "requests_per_minute": 100, "models": ["chat", "other"],
         "model_limits": {"other": {"requests_per_minute": 1}}}"""));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"trial\",\"requests_per_minute\":2}"));
    String key = tenantOn("team-a", "team");
    assertThat(chatAsync(key, "other").join().statusCode()).isEqualTo(200);
    HttpResponse<String> second = chatAsync(key, "other").join();
    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(second.body()).contains("for model 'other'");

    String keyId = ok(call("GET", "/admin/v1/keys?tenant=team-a", TestGateway.KEY, null))
        .path("data").get(0).path("id").asString();
    JsonNode changed = ok(call("PATCH", "/admin/v1/keys/" + keyId, TestGateway.KEY,
        "{\"plan\":\"trial\"}"));
    assertThat(changed.path("plan").asString()).isEqualTo("trial");
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(200);
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(200);
    HttpResponse<String> third = chatAsync(key, "chat").join();
    assertThat(third.statusCode()).isEqualTo(429);
    assertThat(third.body()).contains("key " + keyId + " (plan 'trial')");

    ok(call("PATCH", "/admin/v1/keys/" + keyId, TestGateway.KEY, "{\"plan\":null}"));
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(200);
  }

  @Test
  void aTenantMovedToAnotherPlanIsHeldToItAtOnce() {
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"one-a-minute\",\"requests_per_minute\":1}"));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"roomy\"}"));
    String key = tenantOn("mover", "one-a-minute");
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(200);
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(429);
    JsonNode moved = ok(call("PATCH", "/admin/v1/tenants/mover", TestGateway.KEY,
        "{\"plan\":\"roomy\"}"));
    assertThat(moved.path("plan").asString()).isEqualTo("roomy");
    assertThat(chatAsync(key, "chat").join().statusCode()).isEqualTo(200);
  }

  @Test
  void tokensPerMinuteCountTheRealUsage() {
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"tokens\",\"tokens_per_minute\":100000}"));
    String key = tenantOn("counted", "tokens");
    HttpResponse<String> first = chatAsync(key, "chat").join();
    assertThat(first.statusCode()).isEqualTo(200);
    JsonNode usage = JSON.readTree(first.body()).path("usage");
    long used = usage.path("total_tokens").asLong();
    assertThat(used).isPositive();
    HttpResponse<String> second = chatAsync(key, "chat").join();
    // The first call's real usage is charged, the second call's estimate is reserved.
    long remaining = Long.parseLong(second.headers().firstValue("x-ratelimit-remaining-tokens")
        .orElseThrow());
    assertThat(remaining).isLessThan(100_000 - used).isGreaterThan(100_000 - used - 50);
  }

  @Test
  void onlyAPlatformAdminChangesPlans() {
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"offer\",\"max_concurrent\":3,\"offered_to\":\"all\"}"));
    ok(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"roles\"}"));
    String tenantAdmin = ok(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"roles\",\"role\":\"tenant_admin\"}")).path("key").asString();
    String member = ok(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"roles\"}")).path("key").asString();

    assertThat(ok(call("GET", "/admin/v1/plans/offer", tenantAdmin, null))
        .path("max_concurrent").asInt()).isEqualTo(3);
    assertThat(call("GET", "/admin/v1/plans", member, null).statusCode()).isEqualTo(403);
    assertThat(call("POST", "/admin/v1/plans", tenantAdmin, "{\"id\":\"mine\"}").statusCode())
        .isEqualTo(403);
    assertThat(call("PUT", "/admin/v1/plans/offer", tenantAdmin, "{\"max_concurrent\":99}")
        .statusCode()).isEqualTo(403);
    assertThat(call("DELETE", "/admin/v1/plans/offer", tenantAdmin, null).statusCode())
        .isEqualTo(403);
    assertThat(call("PATCH", "/admin/v1/tenants/roles", tenantAdmin, "{\"plan\":\"offer\"}")
        .statusCode()).isEqualTo(403);

    assertThat(ok(call("GET", "/admin/v1/plans/offer", tenantAdmin, null)).path("priority")
        .asString()).isEqualTo("standard");
    JsonNode replaced = ok(call("PUT", "/admin/v1/plans/offer", TestGateway.KEY,
        "{\"max_concurrent\":4,\"priority\":\"critical\",\"weight\":3}"));
    assertThat(replaced.path("revision").asLong()).isEqualTo(2);
    assertThat(replaced.path("max_concurrent").asInt()).isEqualTo(4);
    JsonNode stored = ok(call("GET", "/admin/v1/plans/offer", TestGateway.KEY, null));
    assertThat(stored.path("priority").asString()).isEqualTo("critical");
    assertThat(stored.path("weight").asInt()).isEqualTo(3);
    ok(call("PATCH", "/admin/v1/tenants/roles", TestGateway.KEY, "{\"plan\":\"offer\"}"));
    HttpResponse<String> inUse = call("DELETE", "/admin/v1/plans/offer", TestGateway.KEY, null);
    assertThat(inUse.statusCode()).isEqualTo(409);
    assertThat(inUse.body()).contains("in use");
    ok(call("PATCH", "/admin/v1/tenants/roles", TestGateway.KEY, "{\"plan\":null}"));
    ok(call("DELETE", "/admin/v1/plans/offer", TestGateway.KEY, null));
    assertThat(call("GET", "/admin/v1/plans/offer", TestGateway.KEY, null).statusCode())
        .isEqualTo(404);
  }

  @Test
  void refusesMalformedPlansNamingTheField() {
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"requests_per_minute\":0}"))).isEqualTo("requests_per_minute");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"tokens_per_minute\":\"many\"}"))).isEqualTo("tokens_per_minute");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"model_limits\":{\"chat\":{\"rpm\":5}}}"))).isEqualTo("model_limits.chat.rpm");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"Bad Id\"}"))).isEqualTo("id");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"priority\":\"urgent\"}"))).isEqualTo("priority");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"weight\":0}"))).isEqualTo("weight");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad\",\"requests_per_mnute\":5}"))).isEqualTo("requests_per_mnute");
    HttpResponse<String> noPlan = call("POST", "/admin/v1/tenants", TestGateway.KEY,
        "{\"id\":\"orphan\",\"plan\":\"missing\"}");
    assertThat(noPlan.statusCode()).isEqualTo(404);
    assertThat(noPlan.body()).contains("No plan 'missing'");
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"twice\"}"));
    assertThat(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"twice\"}").statusCode())
        .isEqualTo(409);
  }

  @Test
  void aHardBudgetRefusesCallsThatMayNotFitAndTheLedgerShowsTheCost() {
    ok(call("PUT", "/admin/v1/prices/chat", TestGateway.KEY,
        "{\"currency\":\"USD\",\"input\":1000,\"output\":2000}"));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"budget\",\"monthly_budget\":1.5,\"budget_currency\":\"USD\"}"));
    // A call costs about 0.04 and reserves about 0.39 (its body's bytes as prompt tokens).
    String key = tenantOn("spender", "budget");
    int served = 0;
    HttpResponse<String> last;
    do {
      last = TestGateway.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
          .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"max_tokens\":16,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}")).build());
      served += last.statusCode() == 200 ? 1 : 0;
    } while (last.statusCode() == 200 && served < 100);
    assertThat(last.statusCode()).isEqualTo(429);
    assertThat(served).isBetween(5, 40);
    JsonNode error = JSON.readTree(last.body()).path("error");
    assertThat(error.path("code").asString()).isEqualTo("insufficient_quota");
    assertThat(error.path("message").asString())
        .contains("monthly budget of tenant 'spender' (plan 'budget')");
    int calls = served;
    await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode usage = ok(call("GET", "/admin/v1/usage?tenant=spender&limit=1000", TestGateway.KEY,
          null));
      assertThat(usage.path("data").size()).isEqualTo(calls + 1); // and the refused call
      java.math.BigDecimal total = usage.path("totals").path("cost").path("USD").decimalValue();
      assertThat(total).isPositive().isLessThanOrEqualTo(new java.math.BigDecimal("1.5"));
      JsonNode row = usage.path("data").get(1);
      assertThat(row.path("currency").asString()).isEqualTo("USD");
      long prompt = row.path("prompt_tokens").asLong();
      long completion = row.path("completion_tokens").asLong();
      assertThat(row.path("cost").decimalValue()).isEqualByComparingTo(
          java.math.BigDecimal.valueOf(prompt * 1000 + completion * 2000, 6));
    });
    assertThat(ok(call("GET", "/admin/v1/prices", TestGateway.KEY, null)).path("data").get(0)
        .path("output").decimalValue()).isEqualByComparingTo("2000");
  }

  @Test
  void pricesNeedAPlatformAdminAndAValidBody() {
    ok(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"pricing\"}"));
    String tenantAdmin = ok(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"pricing\",\"role\":\"tenant_admin\"}")).path("key").asString();
    assertThat(call("PUT", "/admin/v1/prices/other", tenantAdmin,
        "{\"currency\":\"USD\",\"input\":1,\"output\":1}").statusCode()).isEqualTo(403);
    assertThat(error(call("PUT", "/admin/v1/prices/other", TestGateway.KEY,
        "{\"currency\":\"dollars\",\"input\":1,\"output\":1}"))).isEqualTo("currency");
    assertThat(error(call("PUT", "/admin/v1/prices/other", TestGateway.KEY,
        "{\"currency\":\"USD\",\"input\":-1,\"output\":1}"))).isEqualTo("input");
    assertThat(error(call("PUT", "/admin/v1/prices/other", TestGateway.KEY,
        "{\"currency\":\"USD\",\"input\":0.0000001,\"output\":1}"))).isEqualTo("input");
    assertThat(error(call("PUT", "/admin/v1/prices/other", TestGateway.KEY,
        "{\"currency\":\"USD\",\"input\":1}"))).isEqualTo("output");
    ok(call("PUT", "/admin/v1/prices/openai/gpt-4o", TestGateway.KEY,
        "{\"currency\":\"CNY\",\"input\":18,\"output\":72}"));
    assertThat(ok(call("GET", "/admin/v1/prices", tenantAdmin, null)).toString())
        .contains("\"model\":\"openai/gpt-4o\"", "\"currency\":\"CNY\"");
    ok(call("DELETE", "/admin/v1/prices/openai/gpt-4o", TestGateway.KEY, null));
    assertThat(call("DELETE", "/admin/v1/prices/openai/gpt-4o", TestGateway.KEY, null)
        .statusCode()).isEqualTo(404);
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"half\",\"monthly_budget\":5}"))).isEqualTo("budget_currency");
    assertThat(error(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"half\",\"monthly_budget\":5,\"budget_currency\":\"USD\","
            + "\"budget_mode\":\"maybe\"}"))).isEqualTo("budget_mode");
  }

  private static String error(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    return JSON.readTree(response.body()).path("error").path("param").asString();
  }
}
