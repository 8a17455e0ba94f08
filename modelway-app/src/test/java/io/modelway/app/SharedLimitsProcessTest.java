package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A plan's limits held by three {@code modelway gateway} processes together, sharing one Redis
 * and one PostgreSQL (each a real process of the test's own), with calls spread over the three at
 * once: a per-minute window admits exactly its limit, and a monthly budget is never overspent and
 * its Redis counter ends equal to the ledger's total. The same processes share cached answers. The gateway module's {@code
 * SharedRateLimitsTest} checks the same with three gateways in one JVM.
 */
class SharedLimitsProcessTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String ADMIN_KEY = "mw-shared-limits-process-test";
  /** The model every plan here allows (alone), called through the sim as {@code chat}. */
  private static final String MODEL = "sim/chat";
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir static Path dir;
  private static @Nullable SimServer sim;
  private static @Nullable RedisProcess redis;
  private static @Nullable PostgresProcess postgres;
  private static final List<ModelwayProcess> processes = new ArrayList<>();
  /** The gateways' base URLs, {@code http://127.0.0.1:PORT}. */
  private static final List<String> gateways = new ArrayList<>();

  @RegisterExtension
  static final TestWatcher logsOnFailure = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, @Nullable Throwable cause) {
      printLogs();
    }
  };

  @BeforeAll
  static void start() throws Exception {
    try {
      sim = SimServer.start(SimOptions.defaults().withOutputTokens(16));
      redis = RedisProcess.start();
      postgres = PostgresProcess.start();
      // The first gateway migrates the empty store before the others share it.
      startGateway();
      awaitSharingLimits(0);
      startGateway();
      startGateway();
      awaitSharingLimits(1);
      awaitSharingLimits(2);
    } catch (Exception | AssertionError e) {
      printLogs();
      throw e;
    }
  }

  private static void startGateway() {
    int port = ModelwayProcess.freePort();
    String name = "gateway-" + (processes.size() + 1);
    processes.add(ModelwayProcess.start(name, dir,
        Map.of("MODELWAY_ADMIN_KEY", ADMIN_KEY, "MODELWAY_DATABASE_USER", "postgres"),
        "gateway", "--host", "127.0.0.1", "--port", Integer.toString(port),
        "--data-dir", dir.resolve(name).toString(),
        "--database-url", postgres.jdbcUrl(), "--redis-url", redis.url(),
        "--upstream", "sim=" + sim.baseUrl()));
    gateways.add("http://127.0.0.1:" + port);
  }

  /** Waits until gateway {@code i} answers and counts its windows in Redis. */
  private static void awaitSharingLimits(int i) {
    await().atMost(Duration.ofMinutes(3)).until(() -> {
      if (!processes.get(i).isAlive()) {
        throw new IllegalStateException(processes.get(i).output());
      }
      return "redis".equals(rateLimitCounters(gateways.get(i)));
    });
  }

  /** {@code rateLimits.counters} of a gateway's health: where it counts its windows. */
  private static String rateLimitCounters(String gateway) {
    try {
      HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(
              URI.create(gateway + "/actuator/health")).timeout(Duration.ofSeconds(5))
              .header("Authorization", "Bearer " + ADMIN_KEY).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode counters = JSON.readTree(health.body()).path("components").path("rateLimits")
          .path("details").path("counters");
      return counters.isString() ? counters.asString() : health.body();
    } catch (IOException | InterruptedException | RuntimeException e) {
      return e.toString();
    }
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable running : closingOrder()) {
      try {
        running.close();
      } catch (Exception e) {
        System.out.println("Could not stop " + running + ": " + e);
      }
    }
  }

  private static List<AutoCloseable> closingOrder() {
    List<AutoCloseable> all = new ArrayList<>(processes);
    for (AutoCloseable c : new AutoCloseable[] {sim, redis, postgres}) {
      if (c != null) {
        all.add(c);
      }
    }
    return all;
  }

  private static void printLogs() {
    processes.forEach(p -> System.out.println(p.output()));
    if (redis != null) {
      System.out.println(redis.output());
    }
    if (postgres != null) {
      System.out.println(postgres.output());
    }
  }

  private static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** An admin API call to the first gateway. */
  private static JsonNode admin(String method, String path, String body) {
    HttpResponse<String> response = send(HttpRequest.newBuilder(
            URI.create(gateways.get(0) + path))
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
    assertThat(response.statusCode()).as("%s %s: %s", method, path, response.body())
        .isBetween(200, 201);
    return JSON.readTree(response.body());
  }

  /** The usage ledger's rows and totals for {@code tenant}, read through {@code gateway}. */
  private static JsonNode usage(String gateway, String tenant) {
    HttpResponse<String> response = send(HttpRequest.newBuilder(
            URI.create(gateway + "/admin/v1/usage?limit=1000&tenant=" + tenant))
        .header("Authorization", "Bearer " + ADMIN_KEY).build());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  /** The sum of a Prometheus metric's series on {@code gateway}. */
  private static double metric(String gateway, String name) {
    String text = send(HttpRequest.newBuilder(URI.create(gateway + "/actuator/prometheus"))
        .header("Authorization", "Bearer " + ADMIN_KEY).build()).body();
    return text.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  /** A chat completion of "hi" with {@code key}, its x-request-id {@code requestId}. */
  private static CompletableFuture<HttpResponse<String>> chat(String gateway, String key,
      String model, String requestId, int maxTokens) {
    return HTTP.sendAsync(HttpRequest.newBuilder(URI.create(gateway + "/v1/chat/completions"))
            .timeout(Duration.ofMinutes(1))
            .header("Authorization", "Bearer " + key)
            .header("Content-Type", "application/json")
            .header("x-request-id", requestId)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"max_tokens\":"
                + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A tenant and the secret of its one key. */
  private record Tenant(String id, String key) {}

  /**
   * A new tenant with a key, on a new plan of its own that allows {@link #MODEL} alone, with
   * {@code limits} (the plan's other JSON fields), made through the first gateway.
   */
  private static Tenant tenantOnPlan(String limits) {
    String id = "t" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    admin("POST", "/admin/v1/plans", "{\"id\":\"" + id + "\",\"models\":[\"" + MODEL + "\"],"
        + limits + "}");
    admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"plan\":\"" + id + "\"}");
    String key = admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\"}").path("key")
        .asString();
    return new Tenant(id, key);
  }

  /**
   * Waits until every gateway holds {@code tenant} to its plan. The other gateways learn of a
   * plan and a key made through the first one when they next reload the store (every 5 s),
   * each snapshot on its own schedule. A call to a model the plan does not allow shows when both
   * have arrived, without using up any of the plan: it gets 401 while a gateway does not know the
   * key, 200 (from the sim, unlimited and unpriced) while it does not know the plan, and 404,
   * before any counter is touched, once it knows both.
   */
  private static void awaitHeldToItsPlanEverywhere(Tenant tenant) {
    for (String gateway : gateways) {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(
          () -> chat(gateway, tenant.key(), "sim/unlisted", tenant.id() + "-probe", 1).join()
              .statusCode() == 404);
    }
  }

  @Test
  void threeGatewayProcessesTogetherAdmitExactlyTheLimitOfAMinute() {
    Tenant tenant = tenantOnPlan("\"requests_per_minute\":50");
    awaitHeldToItsPlanEverywhere(tenant);

    Instant start = Instant.now();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      calls.add(chat(gateways.get(i % 3), tenant.key(), MODEL, tenant.id() + "-" + i, 16));
    }
    List<HttpResponse<String>> answers = calls.stream().map(CompletableFuture::join).toList();
    assertThat(Duration.between(start, Instant.now())).as("the calls fit in one window")
        .isLessThan(Duration.ofSeconds(45));

    assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(200, 429);
    assertThat(answers).filteredOn(a -> a.statusCode() == 200).hasSize(50);
    assertThat(answers).filteredOn(a -> a.statusCode() == 429).hasSize(150).allSatisfy(a -> {
      assertThat(a.headers().firstValue("Retry-After")).as(a.body()).hasValueSatisfying(
          seconds -> assertThat(Long.parseLong(seconds)).isBetween(1L, 60L));
      assertThat(JSON.readTree(a.body()).path("error").path("code").asString())
          .isEqualTo("rate_limit_exceeded");
    });
    for (String gateway : gateways) {
      assertThat(metric(gateway, "modelway_ratelimit_unshared_total"))
          .as("windows %s counted without Redis", gateway).isZero();
    }
  }

  @Test
  void aBudgetSharedByThreeGatewayProcessesIsNeverOverspentAndItsCounterIsTheLedgersTotal()
      throws Exception {
    // 1000 a million tokens: 0.001 USD a token. A call of "hi" with max_tokens 16 reserves its
    // worst case, 368 tokens (its body's 80 bytes, 256 + 16 for the chat template, and 16),
    // 0.368 USD; the sim answers it with 23 (7 and 16). The budget has room for five worst
    // cases, so at least five calls are served, and far from all: a hundred would cost 2.3.
    admin("PUT", "/admin/v1/prices/" + MODEL,
        "{\"currency\":\"USD\",\"input\":1000,\"output\":1000}");
    BigDecimal budget = new BigDecimal("1.84");
    Tenant tenant = tenantOnPlan("\"monthly_budget\":" + budget + ",\"budget_currency\":\"USD\"");
    awaitPricedEverywhere();
    awaitHeldToItsPlanEverywhere(tenant);

    List<String> ids = IntStream.range(0, 100).mapToObj(i -> tenant.id() + "-" + i).toList();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      calls.add(chat(gateways.get(i % 3), tenant.key(), MODEL, ids.get(i), 16));
    }
    List<HttpResponse<String>> answers = calls.stream().map(CompletableFuture::join).toList();

    assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(200, 429);
    assertThat(answers).filteredOn(a -> a.statusCode() == 200).hasSizeGreaterThanOrEqualTo(5);
    assertThat(answers).filteredOn(a -> a.statusCode() == 429).isNotEmpty();
    assertThat(answers).filteredOn(a -> a.statusCode() == 429).allSatisfy(a ->
        assertThat(JSON.readTree(a.body()).path("error").path("code").asString())
            .isEqualTo("insufficient_quota"));
    String counter = "modelway:rl:q:t:" + tenant.id() + ":" + YearMonth.now(ZoneOffset.UTC)
        + ":USD";
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      JsonNode ledger = usage(gateways.get(2), tenant.id());
      Map<String, Long> rowsByCall = StreamSupport.stream(ledger.path("data").spliterator(), false)
          .map(row -> row.path("request_id").asString()).filter(ids::contains)
          .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
      assertThat(rowsByCall).as("ledger rows by call")
          .isEqualTo(ids.stream().collect(Collectors.toMap(Function.identity(), id -> 1L)));
      JsonNode spent = ledger.path("totals").path("cost").path("USD");
      assertThat(spent.isNumber()).as(ledger.path("totals").toString()).isTrue();
      assertThat(spent.decimalValue()).isPositive().isLessThanOrEqualTo(budget);
      assertThat(redis.get(counter)).as("month counter in Redis")
          .contains(Long.toString(spent.decimalValue().movePointRight(9).longValueExact()));
    });
    for (String gateway : gateways) {
      assertThat(metric(gateway, "modelway_ratelimit_unshared_total"))
          .as("counted without Redis on %s", gateway).isZero();
    }
  }

  /**
   * Waits until every gateway knows {@link #MODEL}'s price. A tenant with a hard budget of 0 is
   * refused (429) a call to it by a gateway that knows the price (and that tenant's plan and key);
   * until then the call is served, on that tenant's account, not on the one under test.
   */
  private static void awaitPricedEverywhere() {
    Tenant broke = tenantOnPlan("\"monthly_budget\":0,\"budget_currency\":\"USD\"");
    for (String gateway : gateways) {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(
          () -> chat(gateway, broke.key(), MODEL, broke.id() + "-probe", 1).join()
              .statusCode() == 429);
    }
  }

  @Test
  void anAnswerCachedThroughOneGatewayProcessIsAHitOnTheOthers() {
    String body = "{\"model\":\"" + MODEL + "\",\"temperature\":0,\"messages\":[{\"role\":"
        + "\"user\",\"content\":\"shared " + ThreadLocalRandom.current().nextLong() + "\"}]}";
    Function<String, HttpResponse<String>> ask = gateway -> send(HttpRequest.newBuilder(
            URI.create(gateway + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + ADMIN_KEY).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    long before = sim.stats().requests();
    HttpResponse<String> first = ask.apply(gateways.get(0));
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(first.headers().firstValue("x-modelway-cache")).hasValue("miss");
    for (String other : gateways.subList(1, gateways.size())) {
      // The first process writes to Redis in the background: the others find it at once or soon.
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        HttpResponse<String> answer = ask.apply(other);
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("x-modelway-cache")).hasValue("hit");
        assertThat(answer.body()).isEqualTo(first.body());
      });
    }
    assertThat(sim.stats().requests() - before).isLessThanOrEqualTo(gateways.size());
  }
}
