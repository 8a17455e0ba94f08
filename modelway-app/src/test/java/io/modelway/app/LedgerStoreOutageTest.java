package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's PostgreSQL stopped hard while 100 streams are completing, calls answered while it
 * is down, then started again: every answer a client received whole is in the ledger, exactly
 * once, and the ledger's health reported the store's error meanwhile.
 */
class LedgerStoreOutageTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String KEY = "mw-ledger-outage-test";
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  private static boolean healthy(String base) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/actuator/health")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  /** The {@code ledger} component of {@code /actuator/health}: always UP, with its details. */
  private static JsonNode ledgerHealth(String base) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
            URI.create(base + "/actuator/health/ledger")).timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + KEY).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).path("details");
  }

  /** A chat completion of at most {@code maxTokens}, with {@code id} as its x-request-id. */
  private static CompletableFuture<HttpResponse<String>> call(String base, String id,
      boolean stream, int maxTokens) {
    String body = "{\"model\":\"sim/m\",\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi " + id + "\"}]}";
    return HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
            .timeout(Duration.ofMinutes(1)).header("Authorization", "Bearer " + KEY)
            .header("Content-Type", "application/json").header("x-request-id", id)
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Whether the client received the answer whole: a stream to its end, or a whole body. */
  private static boolean whole(HttpResponse<String> r) {
    if (r.statusCode() != 200) {
      return false;
    }
    return r.body().startsWith("data: ") ? r.body().endsWith("data: [DONE]\n\n")
        : JSON.readTree(r.body()).path("choices").path(0).path("message").has("content");
  }

  /** Five streamed and five unstreamed calls at once, their ids starting with {@code prefix}. */
  private static Map<String, CompletableFuture<HttpResponse<String>>> fiveOfEach(String base,
      String prefix) {
    Map<String, CompletableFuture<HttpResponse<String>>> calls = new HashMap<>();
    for (int i = 0; i < 5; i++) {
      calls.put(prefix + "stream-" + i, call(base, prefix + "stream-" + i, true, 10));
      calls.put(prefix + "whole-" + i, call(base, prefix + "whole-" + i, false, 10));
    }
    return calls;
  }

  private static void assertWhole(Map<String, CompletableFuture<HttpResponse<String>>> calls) {
    assertThat(calls).allSatisfy((id, call) -> {
      HttpResponse<String> r = call.join();
      assertThat(whole(r)).as("%s: %d %s", id, r.statusCode(), r.body()).isTrue();
    });
  }

  /** Rows of usage_records by request id, read from PostgreSQL itself. */
  private static Map<String, Integer> rowsByRequestId(PostgresProcess postgres) throws Exception {
    Map<String, Integer> rows = new HashMap<>();
    try (Connection c = postgres.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT request_id, COUNT(*) FROM usage_records"
            + " WHERE outcome = 'completed' AND completion_tokens > 0 GROUP BY request_id")) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getInt(2));
      }
    }
    return rows;
  }

  private static long allRows(PostgresProcess postgres) throws Exception {
    try (Connection c = postgres.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM usage_records")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void everyAnswerAClientReceivedWholeIsInTheLedgerOnceAfterTheStoreWasDown(@TempDir Path dir)
      throws Exception {
    // 50 tokens a second, answers cut by max_tokens: the streams take 0.2 s to 2.2 s, so they
    // complete one after another and the stop lands mid-way through them.
    try (SimServer sim = SimServer.start(SimOptions.defaults()
            .withTiming(Duration.ZERO, 50).withOutputTokens(200));
        PostgresProcess postgres = PostgresProcess.start()) {
      int port = ModelwayProcess.freePort();
      String base = "http://127.0.0.1:" + port;
      ModelwayProcess gateway = ModelwayProcess.start("gateway", dir,
          Map.of("MODELWAY_ADMIN_KEY", KEY, "MODELWAY_DATABASE_USER", "postgres"),
          "up", "--host", "127.0.0.1", "--port", Integer.toString(port),
          "--data-dir", dir.resolve("data").toString(), "--no-embedding-model",
          "--database-url", postgres.jdbcUrl(), "--upstream", "sim=" + sim.baseUrl());
      try (gateway) {
        await().atMost(Duration.ofMinutes(2)).until(() -> healthy(base));
        outageAndRecovery(base, postgres);
      } catch (Exception | AssertionError e) {
        System.out.println(gateway.output());
        System.out.println(postgres.output());
        throw e;
      }
    }
  }

  private void outageAndRecovery(String base, PostgresProcess postgres) throws Exception {
    Map<String, CompletableFuture<HttpResponse<String>>> streams = new HashMap<>();
    Set<String> wholeSoFar = ConcurrentHashMap.newKeySet();
    for (int i = 0; i < 100; i++) {
      String id = "outage-stream-" + i;
      streams.put(id, call(base, id, true, 10 + i).whenComplete((r, failed) -> {
        if (r != null && whole(r)) {
          wholeSoFar.add(id);
        }
      }));
    }
    await().atMost(Duration.ofMinutes(1)).until(() -> wholeSoFar.size() >= 20);
    postgres.stopHard();
    assertThat(wholeSoFar).as("streams whole when the store stopped").hasSizeLessThan(100);

    // Answered while the store is down, at once and once the ledger has noticed (its first
    // attempt waits out the pool's connection timeout, 30 s): the records wait in the spool.
    Map<String, CompletableFuture<HttpResponse<String>>> whileDown = new HashMap<>();
    whileDown.putAll(fiveOfEach(base, "down-early-"));
    assertWhole(whileDown);
    await().atMost(Duration.ofMinutes(1))
        .until(() -> ledgerHealth(base).path("storeError").isString());
    whileDown.putAll(fiveOfEach(base, "down-late-"));
    assertWhole(whileDown);
    postgres.startAgain();

    assertWhole(streams);
    Set<String> answered = new HashSet<>(streams.keySet());
    answered.addAll(whileDown.keySet());
    await().atMost(Duration.ofMinutes(1)).untilAsserted(() -> {
      JsonNode ledger = ledgerHealth(base);
      assertThat(ledger.has("storeError")).as(ledger.toString()).isFalse();
      assertThat(ledger.path("spooledBytes").asLong()).as(ledger.toString()).isZero();
      assertThat(rowsByRequestId(postgres)).containsOnlyKeys(answered);
    });
    assertThat(rowsByRequestId(postgres)).as("rows by request id")
        .isEqualTo(answered.stream().collect(Collectors.toMap(Function.identity(), id -> 1)));
    assertThat(allRows(postgres)).isEqualTo(answered.size());
  }
}
