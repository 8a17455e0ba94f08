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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway killed with SIGKILL while 100 streams are completing: after a restart every
 * stream a client received completely is in the ledger, exactly once.
 */
class LedgerCrashTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String KEY = "mw-ledger-crash-test";
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

  private static JsonNode usage(String base, String requestId) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
            URI.create(base + "/admin/v1/usage?request_id=" + requestId))
        .header("Authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).path("data");
  }

  @Test
  void everyStreamAClientReceivedWholeIsInTheLedgerOnceAfterAKill(@TempDir Path dir)
      throws Exception {
    try {
      killAndRestart(dir);
    } catch (Exception | AssertionError e) {
      for (String name : List.of("gateway-1", "gateway-2")) {
        Path log = dir.resolve(name + ".log");
        if (java.nio.file.Files.exists(log)) {
          System.out.println("----- " + name + " -----\n" + java.nio.file.Files.readString(log));
        }
      }
      throw e;
    }
  }

  private void killAndRestart(Path dir) throws Exception {
    // 40 tokens at 100/s: each stream takes about 0.4 s, so the kill lands mid-way through many.
    try (SimServer sim = SimServer.start(SimOptions.defaults()
        .withTiming(Duration.ZERO, 100).withOutputTokens(40))) {
      int port = ModelwayProcess.freePort();
      String base = "http://127.0.0.1:" + port;
      String[] args = {"up", "--host", "127.0.0.1", "--port", Integer.toString(port),
          "--data-dir", dir.resolve("data").toString(), "--no-embedding-model",
          "--upstream", "sim=" + sim.baseUrl()};
      Map<String, String> env = Map.of("MODELWAY_ADMIN_KEY", KEY);
      Set<String> complete = ConcurrentHashMap.newKeySet();
      List<CompletableFuture<?>> calls = new ArrayList<>();
      try (ModelwayProcess first = ModelwayProcess.start("gateway-1", dir, env, args)) {
        await().atMost(Duration.ofMinutes(2)).until(() -> healthy(base));
        for (int i = 0; i < 100; i++) {
          String id = "crash-" + i;
          calls.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                  .header("Authorization", "Bearer " + KEY)
                  .header("Content-Type", "application/json").header("x-request-id", id)
                  .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim/m\",\"stream\":true,"
                      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi " + i + "\"}]}")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .thenAccept(r -> {
                if (r.statusCode() == 200 && r.body().endsWith("data: [DONE]\n\n")) {
                  complete.add(id);
                }
              }));
        }
        await().atMost(Duration.ofMinutes(1)).until(() -> complete.size() >= 20);
        first.kill();
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
          .handle((ok, failed) -> null).join();
      assertThat(complete).as("streams completed before the kill").hasSizeGreaterThanOrEqualTo(20);

      try (ModelwayProcess second = ModelwayProcess.start("gateway-2", dir, env, args)) {
        await().atMost(Duration.ofMinutes(2)).until(() -> healthy(base));
        for (String id : complete) {
          await().atMost(Duration.ofSeconds(30)).until(() -> usage(base, id).size() >= 1);
          JsonNode rows = usage(base, id);
          assertThat(rows).as(id).hasSize(1);
          assertThat(rows.get(0).path("outcome").asString()).isEqualTo("completed");
          assertThat(rows.get(0).path("completion_tokens").asLong()).isPositive();
        }
      }
    }
  }
}
