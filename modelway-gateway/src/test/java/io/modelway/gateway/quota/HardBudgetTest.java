package io.modelway.gateway.quota;

import static io.modelway.gateway.TestGateway.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.Stores;
import io.modelway.gateway.TestGateway;
import io.modelway.gateway.TestRedis;
import io.modelway.gateway.auth.Authenticator;
import io.modelway.gateway.usage.Prices;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hard budgets hold against any prompt (issue 13 item 5): three gateways share one PostgreSQL
 * store and one Redis, and call a sim that counts a prompt's text one token per UTF-8 byte — the
 * most a byte-level tokenizer can make of it, and far more than OpenAI's tokenizers make of
 * repeated punctuation, CJK, emoji, long numbers or base64 — and writes up to {@value #WRITES}
 * tokens when a call sets no {@code max_tokens}. Whatever the prompts, the ledger's total never
 * passes the budget.
 */
class HardBudgetTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** What the sim writes unless {@code max_tokens} says less: more than the default cap. */
  private static final int WRITES = 6000;
  private static final BigDecimal BUDGET = new BigDecimal("0.25");
  private static SimServer sim;
  private static Stores.Store store;
  private static TestRedis redis;
  private static final List<TestGateway> gateways = new ArrayList<>();

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults().withOutputTokens(WRITES)
        .withKvCacheBlocks(1 << 16).withPromptTokensPerByte(true));
    store = Stores.postgres();
    redis = TestRedis.start();
    for (int i = 0; i < 3; i++) {
      gateways.add(TestGateway.start("""
          backends:
            sim: {url: "%s"}
          models:
            - {name: chat, backend: sim}
          """.formatted(sim.baseUrl()), Map.of(), options -> options
          .withDatabaseUrl(Optional.of(store.dataSource().getJdbcUrl()))
          .withRedis(Optional.of(redis.url()), false)));
    }
    for (TestGateway gateway : gateways) {
      await().atMost(Duration.ofSeconds(30)).until(() -> JSON.readTree(
              gateway.get("/actuator/health").body()).path("components").path("rateLimits")
          .path("details").path("counters").asString().equals("redis"));
    }
    // 10 USD a million tokens, in and out: the 800 '=' cost 0.008 as the sim counts them.
    ok(admin("PUT", "/admin/v1/prices/chat", "{\"currency\":\"USD\",\"input\":10,\"output\":10}"));
  }

  @AfterAll
  static void stop() {
    gateways.forEach(TestGateway::close);
    redis.close();
    store.close();
    sim.close();
  }

  private static HttpResponse<String> admin(String method, String path, String body) {
    return gateways.get(0).call(method, path, TestGateway.KEY, body);
  }

  /** A new tenant with a hard monthly budget of {@link #BUDGET} USD; its id and key. */
  private static String[] tenantWithHardBudget() {
    return tenantOnPlan("\"monthly_budget\":" + BUDGET.toPlainString()
        + ",\"budget_currency\":\"USD\",\"budget_mode\":\"hard\"");
  }

  /** A new tenant on a new plan of {@code quota} (JSON members); its id and key. */
  private static String[] tenantOnPlan(String quota) {
    String id = "h" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    ok(admin("POST", "/admin/v1/plans", "{\"id\":\"" + id + "\"," + quota + "}"));
    ok(admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"plan\":\"" + id + "\"}"));
    String key = ok(admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\"}")).path("key")
        .asString();
    for (TestGateway gateway : gateways) {
      gateway.bean(Authenticator.class).refresh();
      gateway.bean(LivePlans.class).refresh();
      gateway.bean(Prices.class).refresh();
    }
    return new String[] {id, key};
  }

  /** Sends every body at once, {@code i}-th through gateway {@code i % 3}; the statuses. */
  private static List<Integer> sendAll(String key, List<String[]> calls) {
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      sent.add(TestGateway.client().sendAsync(HttpRequest.newBuilder(
              URI.create(gateways.get(i % 3).url(calls.get(i)[0])))
          .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(calls.get(i)[1])).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    List<HttpResponse<String>> answers = sent.stream().map(CompletableFuture::join).toList();
    answers.stream().filter(a -> a.statusCode() != 200 && a.statusCode() != 429).limit(3)
        .forEach(a -> System.out.println("UNEXPECTED " + a.statusCode() + " " + a.body()));
    return answers.stream().map(HttpResponse::statusCode).toList();
  }

  /**
   * Waits for the ledger to hold a row for each of {@code calls} calls, then checks that their
   * cost is within the budget and that the shared counter is exactly that cost; the cost.
   */
  private static BigDecimal spentWithinBudget(String tenant, int calls) {
    String counter = "modelway:rl:q:t:" + tenant + ":" + YearMonth.now(ZoneOffset.UTC) + ":USD";
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url());
    BigDecimal[] spent = new BigDecimal[1];
    try (var connection = client.connect()) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        JsonNode usage = ok(TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateways.get(2).url("/admin/v1/usage?limit=10000&tenant=" + tenant))))
            .build()));
        assertThat(usage.path("totals").path("requests").asLong()).isEqualTo(calls);
        spent[0] = usage.path("totals").path("cost").path("USD").decimalValue();
        assertThat(connection.sync().get(counter))
            .isEqualTo(Long.toString(spent[0].movePointRight(9).longValueExact()));
      });
    } finally {
      client.shutdown();
    }
    assertThat(spent[0]).as("spent of a hard budget of %s USD", BUDGET)
        .isPositive().isLessThanOrEqualTo(BUDGET);
    return spent[0];
  }

  private static String chat(String content, String more) {
    return "{\"model\":\"chat\"" + more + ",\"messages\":[{\"role\":\"user\",\"content\":"
        + JSON.writeValueAsString(content) + "}]}";
  }

  @Test
  void aCallWithoutMaxTokensIsCutAtTheCapItsReservationCountedOn() {
    String[] tenant = tenantWithHardBudget();
    HttpResponse<String> answer = TestGateway.send(HttpRequest.newBuilder(
            URI.create(gateways.get(1).url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + tenant[1]).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(chat("日本", ""))).build());
    JsonNode usage = ok(answer).path("usage");
    // The sim would write 6,000 tokens; the gateway sent the call with the cap it reserved.
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(WorstCase.DEFAULT_CAP);
    assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(3 + 6 + 3); // 6 bytes, 6 tokens
    String sent = JSON.readTree(TestGateway.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + sim.port() + "/sim/last-request")).GET().build()).body())
        .path("body").asString();
    assertThat(JSON.readTree(sent).path("max_tokens").asInt()).isEqualTo(WorstCase.DEFAULT_CAP);
    spentWithinBudget(tenant[0], 1);
  }

  /** Regression: 100 calls at once of 800 '=' with a budget of 0.25 USD spent 1.41 USD. */
  @Test
  void aHundredCallsOfRepeatedPunctuationStayWithinAHardBudget() {
    String[] tenant = tenantWithHardBudget();
    List<String[]> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(new String[] {"/v1/chat/completions", chat("=".repeat(800), ",\"max_tokens\":16")});
    }
    List<Integer> statuses = sendAll(tenant[1], calls);
    assertThat(statuses).containsOnly(200, 429).contains(200, 429);
    BigDecimal spent = spentWithinBudget(tenant[0], 100);
    System.out.printf("800 '=' x100: %d admitted, %s USD spent of %s%n",
        statuses.stream().filter(s -> s == 200).count(), spent.toPlainString(), BUDGET);
  }

  @Test
  void threeHundredAdversarialCallsOverThreeGatewaysNeverPassAHardTokenQuota() {
    long quota = 20_000;
    String[] tenant = tenantOnPlan("\"monthly_tokens\":" + quota);
    List<String[]> calls = adversarialCalls(300);
    List<Integer> statuses = sendAll(tenant[1], calls);
    assertThat(statuses).containsOnly(200, 429).contains(200, 429);
    String counter = "modelway:rl:q:t:" + tenant[0] + ":" + YearMonth.now(ZoneOffset.UTC)
        + ":tokens";
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url());
    long[] used = new long[1];
    try (var connection = client.connect()) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        JsonNode totals = ok(TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateways.get(0).url("/admin/v1/usage?limit=10000&tenant=" + tenant[0]))))
            .build())).path("totals");
        assertThat(totals.path("requests").asLong()).isEqualTo(300);
        used[0] = totals.path("prompt_tokens").asLong() + totals.path("completion_tokens").asLong();
        assertThat(connection.sync().get(counter)).isEqualTo(Long.toString(used[0]));
      });
    } finally {
      client.shutdown();
    }
    assertThat(used[0]).as("tokens used of a hard quota of %d", quota).isPositive()
        .isLessThanOrEqualTo(quota);
    System.out.printf("adversarial x300 over 3 gateways: %d admitted, %d tokens of %d%n",
        statuses.stream().filter(s -> s == 200).count(), used[0], quota);
  }

  /**
   * The test: 1,000 adversarial calls at once over three gateways — punctuation, CJK,
   * emoji, long numbers, base64, calls without {@code max_tokens}, with {@code n} and with
   * {@code best_of} — and not one billionth over the budget.
   */
  @Test
  void aThousandAdversarialCallsOverThreeGatewaysNeverOverspendAHardBudget() {
    String[] tenant = tenantWithHardBudget();
    List<Integer> statuses = sendAll(tenant[1], adversarialCalls(1000));
    assertThat(statuses).containsOnly(200, 429).contains(200, 429);
    BigDecimal spent = spentWithinBudget(tenant[0], 1000);
    System.out.printf("adversarial x1000 over 3 gateways: %d admitted, %s USD spent of %s%n",
        statuses.stream().filter(s -> s == 200).count(), spent.toPlainString(), BUDGET);
  }

  /**
   * {@code count} calls of prompts OpenAI's tokenizers make few tokens of — punctuation, CJK,
   * emoji, digits, base64 — as chats with {@code max_tokens}, without it, with {@code n}, and as
   * completions with {@code best_of} and in batches: the path and body of each.
   */
  private static List<String[]> adversarialCalls(int count) {
    Random random = new Random(13);
    byte[] noise = new byte[600];
    random.nextBytes(noise);
    String base64 = Base64.getEncoder().encodeToString(noise);
    StringBuilder number = new StringBuilder();
    for (int i = 0; i < 800; i++) {
      number.append((char) ('0' + random.nextInt(10)));
    }
    List<String> prompts = List.of("=".repeat(800), "!?".repeat(400), "日本語の文章".repeat(60),
        "\uD83D\uDE00\uD83D\uDC4D\uD83C\uDFFD".repeat(60), number.toString(), base64,
        "-".repeat(3000) + "\n" + ".".repeat(1000));
    List<String[]> calls = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String prompt = prompts.get(i % prompts.size());
      calls.add(switch (i % 5) {
        case 0 -> new String[] {"/v1/chat/completions", chat(prompt, ",\"max_tokens\":16")};
        case 1 -> new String[] {"/v1/chat/completions", chat(prompt, "")}; // writes up to 6,000
        case 2 -> new String[] {"/v1/chat/completions",
            chat(prompt, ",\"n\":4,\"max_completion_tokens\":32")};
        case 3 -> new String[] {"/v1/completions", "{\"model\":\"chat\",\"prompt\":"
            + JSON.writeValueAsString(prompt) + ",\"max_tokens\":8,\"best_of\":5}"};
        default -> new String[] {"/v1/completions", "{\"model\":\"chat\",\"prompt\":"
            + JSON.writeValueAsString(List.of(prompt, prompt)) + ",\"max_tokens\":8}"};
      });
    }
    return calls;
  }
}
