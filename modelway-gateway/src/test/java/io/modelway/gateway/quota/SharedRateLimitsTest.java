package io.modelway.gateway.quota;

import static io.modelway.gateway.TestGateway.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.Stores;
import io.modelway.gateway.TestGateway;
import io.modelway.gateway.TestRedis;
import io.modelway.gateway.auth.Authenticator;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rate limits shared through a real Redis (a {@code redis-server} process of the test's own) by
 * three gateways on one PostgreSQL store, and what happens when that Redis dies and comes back.
 */
class SharedRateLimitsTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static SimServer sim;
  /** Holds calls when told to, so that calls at once can be counted. */
  private static SimServer held;
  private static Stores.Store store;
  private static TestRedis redis;
  private static final List<TestGateway> gateways = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    sim = SimServer.start(SimOptions.defaults());
    held = SimServer.start(SimOptions.defaults());
    store = Stores.postgres();
    redis = TestRedis.start();
    for (int i = 0; i < 3; i++) {
      gateways.add(TestGateway.start("""
          backends:
            sim: {url: "%s"}
            held: {url: "%s"}
          models:
            - {name: chat, backend: sim}
            - {name: held, backend: held}
          """.formatted(sim.baseUrl(), held.baseUrl()), Map.of(), options -> options
          .withDatabaseUrl(Optional.of(store.dataSource().getJdbcUrl()))
          .withRedis(Optional.of(redis.url()), true)));
    }
    // A gateway that could not connect while it started (a busy machine) retries every few
    // seconds; the tests start once every one shares.
    for (TestGateway gateway : gateways) {
      await().atMost(Duration.ofSeconds(30)).until(() -> health(gateway).equals("redis"));
    }
  }

  @AfterAll
  static void stop() {
    gateways.forEach(TestGateway::close);
    redis.close();
    store.close();
    sim.close();
    held.close();
  }

  private static HttpResponse<String> admin(String method, String path, String body) {
    return gateways.get(0).call(method, path, TestGateway.KEY, body);
  }

  /** A new tenant on a new plan of {@code rpm} calls a minute, known to every gateway; its key. */
  private static String tenantWithLimit(int rpm) {
    String id = "t" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    ok(admin("POST", "/admin/v1/plans", "{\"id\":\"" + id + "\",\"requests_per_minute\":" + rpm + "}"));
    ok(admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"plan\":\"" + id + "\"}"));
    String key = ok(admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\"}")).path("key")
        .asString();
    for (TestGateway gateway : gateways) { // instead of waiting for their periodic reload
      gateway.bean(Authenticator.class).refresh();
      gateway.bean(LivePlans.class).refresh();
    }
    return key;
  }

  private static CompletableFuture<HttpResponse<String>> chat(TestGateway gateway, String key) {
    return TestGateway.client().sendAsync(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String health(TestGateway gateway) {
    return JSON.readTree(gateway.get("/actuator/health").body())
        .path("components").path("rateLimits").path("details").path("counters").asString();
  }

  @Test
  void threeGatewaysTogetherAdmitExactlyTheLimit() {
    String key = tenantWithLimit(30);
    long[] unsharedBefore = gateways.stream()
        .mapToLong(g -> g.bean(Counters.class).unsharedCount()).toArray();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      calls.add(chat(gateways.get(i % 3), key));
    }
    List<HttpResponse<String>> answers = calls.stream().map(CompletableFuture::join).toList();
    answers.stream().filter(a -> a.statusCode() != 200).limit(3)
        .forEach(a -> System.out.println("REFUSED " + a.statusCode() + " " + a.body()));
    List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).toList();
    for (int i = 0; i < gateways.size(); i++) {
      assertThat(gateways.get(i).bean(Counters.class).unsharedCount())
          .as("windows counted without Redis").isEqualTo(unsharedBefore[i]);
    }
    assertThat(statuses).containsOnly(200, 429);
    assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(30);
    assertThat(health(gateways.get(1))).isEqualTo("redis");
  }

  @Test
  void aBudgetSharedByThreeGatewaysIsNeverOverspentAndItsCounterIsTheLedgersTotal() {
    String id = "b" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    // 0.0002 a token: a call costs about 0.005, and reserves about 0.07 (its body's bytes as
    // prompt tokens), so 100 calls cannot all fit in 0.25.
    ok(admin("PUT", "/admin/v1/prices/chat",
        "{\"currency\":\"USD\",\"input\":200,\"output\":200}"));
    ok(admin("POST", "/admin/v1/plans", "{\"id\":\"" + id + "\",\"monthly_budget\":0.25,"
        + "\"budget_currency\":\"USD\"}"));
    ok(admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"plan\":\"" + id + "\"}"));
    String key = ok(admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\"}")).path("key")
        .asString();
    for (TestGateway gateway : gateways) {
      gateway.bean(Authenticator.class).refresh();
      gateway.bean(LivePlans.class).refresh();
      gateway.bean(io.modelway.gateway.usage.Prices.class).refresh();
    }
    long[] unsharedBefore = gateways.stream()
        .mapToLong(g -> g.bean(Counters.class).unsharedCount()).toArray();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(TestGateway.client().sendAsync(HttpRequest.newBuilder(
              URI.create(gateways.get(i % 3).url("/v1/chat/completions")))
          .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"max_tokens\":16,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
          .build(), HttpResponse.BodyHandlers.ofString()));
    }
    List<Integer> statuses = calls.stream().map(c -> c.join().statusCode()).toList();
    for (int i = 0; i < gateways.size(); i++) {
      assertThat(gateways.get(i).bean(Counters.class).unsharedCount())
          .as("reservations made without Redis").isEqualTo(unsharedBefore[i]);
    }
    assertThat(statuses).containsOnly(200, 429).contains(200, 429);

    String counter = "modelway:rl:q:t:" + id + ":"
        + java.time.YearMonth.now(java.time.ZoneOffset.UTC) + ":USD";
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url());
    try (var redisConnection = client.connect()) {
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
        JsonNode usage = ok(TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateways.get(2).url("/admin/v1/usage?limit=1000&tenant=" + id)))).build()));
        assertThat(usage.path("data").size()).isEqualTo(100);
        java.math.BigDecimal spent = usage.path("totals").path("cost").path("USD").decimalValue();
        assertThat(spent).isPositive().isLessThanOrEqualTo(new java.math.BigDecimal("0.25"));
        assertThat(redisConnection.sync().get(counter))
            .isEqualTo(Long.toString(spent.movePointRight(9).longValueExact()));
      });
    } finally {
      client.shutdown();
    }
  }

  @Test
  void threeGatewaysTogetherHoldATenantToItsCallsAtOnce() {
    String id = "c" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    ok(admin("POST", "/admin/v1/plans", "{\"id\":\"" + id + "\",\"max_concurrent\":2}"));
    ok(admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"plan\":\"" + id + "\"}"));
    String key = ok(admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\"}")).path("key")
        .asString();
    for (TestGateway gateway : gateways) {
      gateway.bean(Authenticator.class).refresh();
      gateway.bean(LivePlans.class).refresh();
    }
    held.switchChaosMode(io.modelway.sim.ChaosMode.HANG);
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calls.add(TestGateway.client().sendAsync(HttpRequest.newBuilder(
              URI.create(gateways.get(i % 3).url("/v1/chat/completions")))
          .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"held\",\"messages\":"
              + "[{\"role\":\"user\",\"content\":\"wait\"}]}")).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    // Two are held by the sim; the other four, on whichever gateway, are refused at once.
    await().atMost(Duration.ofSeconds(20)).until(() ->
        calls.stream().filter(c -> c.isDone() && c.join().statusCode() == 429).count() == 4);
    assertThat(held.stats().inflight()).isEqualTo(2);
    held.switchChaosMode(io.modelway.sim.ChaosMode.NORMAL);
    assertThat(calls.stream().map(c -> c.join().statusCode()).toList())
        .containsOnly(200, 429).filteredOn(status -> status == 200).hasSize(2);
    // Their places are given back when they end: the next call, anywhere, is admitted.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(TestGateway.send(
        HttpRequest.newBuilder(URI.create(gateways.get(2).url("/v1/chat/completions")))
            .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"held\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"again\"}]}")).build()).statusCode())
        .isEqualTo(200));
  }

  @Test
  void servesOnLocalLimitsWhileRedisIsDownAndSharesAgainWhenItIsBack() throws Exception {
    String key = tenantWithLimit(1000);
    HttpResponse<String> first = chat(gateways.get(0), key).join();
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);

    redis.kill();
    for (int i = 0; i < 10; i++) {
      assertThat(chat(gateways.get(i % 3), key).join().statusCode()).isEqualTo(200);
    }
    assertThat(health(gateways.get(0))).isEqualTo("local (redis unreachable)");
    String text = gateways.get(0).get("/actuator/prometheus").body();
    assertThat(text).contains("modelway_ratelimit_shared 0.0");

    redis.restart();
    // Every gateway shares again once its connection is back (Lettuce reconnects each on its own
    // schedule); the other tests need all three on Redis.
    for (TestGateway gateway : gateways) {
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(chat(gateway, key).join().statusCode()).isEqualTo(200);
        assertThat(health(gateway)).isEqualTo("redis");
      });
    }
  }
}
