package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Aliases end to end, over real HTTP with two sims as the blue and the green version of a model:
 * resolution, a canary split, stickiness per key, and blue-green switches under load through
 * the admin API and through the config file, with no failed call.
 */
class ModelAliasesTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String CONFIG = """
      backends:
        blue: {url: "%s"}
        green: {url: "%s"}
      models:
        - {name: chat, version: "1", backend: blue, upstream-model: chat-v1}
        - {name: chat, version: "2", backend: green, upstream-model: chat-v2}
      aliases:
        - name: chat
          targets: [{model: chat@1}]
        - name: chat-canary
          targets: [{model: chat@1, weight: 90}, {model: chat@2, weight: 10}]
        - name: chat-ab
          targets: [{model: chat@1, weight: 50}, {model: chat@2, weight: 50}]
          sticky: key
        - name: chat-live
          targets: [{model: chat@1}]
        - name: chat-reload
          targets: [{model: %s}]
      """;
  /** Not cached: sampled (no temperature 0, no seed), and the cache told to stay out anyway. */
  private static final String ASK = "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static SimServer blue;
  private static SimServer green;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    // A few milliseconds per answer, so that calls are in flight when traffic switches.
    SimOptions options = SimOptions.defaults().withTiming(Duration.ofMillis(5), 0);
    blue = SimServer.start(options);
    green = SimServer.start(options);
    gateway = TestGateway.start(config("chat@1"), Map.of());
  }

  private static String config(String reloadTarget) {
    return CONFIG.formatted(blue.baseUrl(), green.baseUrl(), reloadTarget);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    blue.close();
    green.close();
  }

  private static HttpRequest chat(String model, String key) {
    return HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + ASK))
        .build();
  }

  private static JsonNode json(String body) {
    return JSON.readTree(body);
  }

  private static String served(HttpResponse<?> response) {
    return response.headers().firstValue("x-modelway-model").orElse("none");
  }

  @Test
  void anAliasResolvesToItsTargetWhoseUpstreamNameIsSentAndRecorded() {
    HttpResponse<String> answer = TestGateway.send(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + TestGateway.KEY)
        .header("Content-Type", "application/json")
        .header("x-request-id", "alias-resolves")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat" + ASK)).build());
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(served(answer)).isEqualTo("chat@1");
    JsonNode seen = json(TestGateway.send(HttpRequest.newBuilder(
        URI.create(blue.baseUrl().replace("/v1", "/sim/last-request"))).build()).body());
    assertThat(json(seen.path("body").asString()).path("model").asString()).isEqualTo("chat-v1");
    // A version is called by name@version directly too.
    HttpResponse<String> pinned = TestGateway.send(chat("chat@2", TestGateway.KEY));
    assertThat(pinned.statusCode()).isEqualTo(200);
    assertThat(served(pinned)).isEqualTo("chat@2");
    // Cache entries are the target's: a deterministic question asked through the alias is
    // answered from the cache when asked of its target by name.
    String deterministic =
        "\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"cached?\"}]}";
    assertThat(gateway.post("/v1/chat/completions", "{\"model\":\"chat" + deterministic)
        .headers().firstValue("x-modelway-cache")).hasValue("miss");
    assertThat(gateway.post("/v1/chat/completions", "{\"model\":\"chat@1" + deterministic)
        .headers().firstValue("x-modelway-cache")).hasValue("hit");
    // The ledger says which target served.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode rows = json(gateway.get("/admin/v1/usage?request_id=alias-resolves").body())
          .path("data");
      assertThat(rows.size()).isEqualTo(1);
      assertThat(rows.get(0).path("model").asString()).isEqualTo("chat@1");
      assertThat(rows.get(0).path("backend").asString()).isEqualTo("blue");
    });
  }

  @Test
  void aCanarySplitOf90To10HoldsWithinTwoPercentOver5000Calls() throws Exception {
    long blueBefore = blue.stats().requests();
    long greenBefore = green.stats().requests();
    int calls = 5_000;
    Semaphore inFlight = new Semaphore(64);
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>(calls);
    for (int i = 0; i < calls; i++) {
      inFlight.acquire();
      answers.add(TestGateway.client()
          .sendAsync(chat("chat-canary", TestGateway.KEY), HttpResponse.BodyHandlers.ofString())
          .whenComplete((r, e) -> inFlight.release()));
    }
    Map<String, Integer> byModel = new HashMap<>();
    for (CompletableFuture<HttpResponse<String>> answer : answers) {
      HttpResponse<String> r = answer.get();
      assertThat(r.statusCode()).isEqualTo(200);
      byModel.merge(served(r), 1, Integer::sum);
    }
    assertThat(byModel.keySet()).containsExactlyInAnyOrder("chat@1", "chat@2");
    // 10 % ± 2 % of 5,000: the split is drawn at random, so this holds by 4.7 standard deviations.
    assertThat(byModel.get("chat@2")).isBetween(400, 600);
    // And the sims saw as many calls as the header says.
    assertThat(green.stats().requests() - greenBefore).isEqualTo((long) byModel.get("chat@2"));
    assertThat(blue.stats().requests() - blueBefore).isEqualTo((long) byModel.get("chat@1"));
  }

  @Test
  void aStickySplitKeepsEachKeyOnOneTarget() {
    assertThat(gateway.post("/admin/v1/tenants", "{\"id\":\"ab\"}").statusCode()).isEqualTo(201);
    Map<String, Set<String>> targetsByKey = new HashMap<>();
    for (int k = 0; k < 24; k++) {
      String key = json(gateway.post("/admin/v1/keys", "{\"tenant\":\"ab\",\"name\":\"k" + k
          + "\"}").body()).path("key").asString();
      Set<String> targets = new HashSet<>();
      for (int i = 0; i < 6; i++) {
        HttpResponse<String> r = TestGateway.send(chat("chat-ab", key));
        assertThat(r.statusCode()).isEqualTo(200);
        targets.add(served(r));
      }
      targetsByKey.put(key, targets);
    }
    assertThat(targetsByKey.values()).allSatisfy(t -> assertThat(t).hasSize(1));
    // 24 keys at 50/50 all on one target would be a 1 in 8 million chance.
    assertThat(targetsByKey.values().stream().flatMap(Set::stream).distinct())
        .containsExactlyInAnyOrder("chat@1", "chat@2");
  }

  /** What a load loop saw of one call: when it was sent (relative to the switch) and the answer. */
  private record Seen(boolean sentAfterSwitch, int status, String model) {}

  /**
   * Calls {@code alias} from four threads until {@code switcher} has run and 300 calls were sent
   * after it; returns what every call saw.
   */
  private static List<Seen> underLoad(String alias, Runnable switcher) throws Exception {
    ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
    AtomicBoolean switched = new AtomicBoolean();
    AtomicLong afterSwitch = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> loops = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        loops.add(threads.submit(() -> {
          while (!stop.get()) {
            boolean after = switched.get();
            HttpResponse<String> r;
            try {
              r = TestGateway.send(chat(alias, TestGateway.KEY));
            } catch (RuntimeException e) {
              seen.add(new Seen(after, -1, e.toString()));
              continue;
            }
            seen.add(new Seen(after, r.statusCode(), served(r)));
            if (after) {
              afterSwitch.incrementAndGet();
            }
          }
        }));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> seen.size() >= 200);
      switcher.run();
      switched.set(true);
      await().atMost(Duration.ofSeconds(60)).until(() -> afterSwitch.get() >= 300);
      stop.set(true);
      for (Future<?> loop : loops) {
        loop.get();
      }
    } finally {
      stop.set(true);
      threads.shutdown();
    }
    return List.copyOf(seen);
  }

  @Test
  void aBlueGreenSwitchThroughTheAdminApiLosesNoCall() throws Exception {
    List<Seen> seen = underLoad("chat-live", () -> {
      HttpResponse<String> set = gateway.call("PUT", "/admin/v1/aliases/chat-live",
          TestGateway.KEY, "{\"targets\":[{\"model\":\"chat@2\",\"weight\":100}]}");
      assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
      JsonNode alias = json(set.body());
      assertThat(alias.path("source").asString()).isEqualTo("override");
      assertThat(alias.path("config").path("targets").path(0).path("model").asString())
          .isEqualTo("chat@1");
    });
    assertThat(seen).allSatisfy(s -> assertThat(s.status()).as(s.model()).isEqualTo(200));
    assertThat(seen).filteredOn(s -> !s.sentAfterSwitch()).extracting(Seen::model)
        .contains("chat@1");
    // Calls sent once the switch had answered all went to green.
    assertThat(seen).filteredOn(Seen::sentAfterSwitch).extracting(Seen::model)
        .containsOnly("chat@2");

    // The change is in the audit log; /v1/models shows the alias with its new target.
    JsonNode audit = json(gateway.get("/admin/v1/audit?limit=50").body()).path("data");
    assertThat(audit).anySatisfy(e -> {
      assertThat(e.path("action").asString()).isEqualTo("alias.set");
      assertThat(e.path("target").asString()).isEqualTo("chat-live");
    });
    JsonNode listed = json(gateway.get("/v1/models/chat-live").body());
    assertThat(listed.path("modelway").path("source").asString()).isEqualTo("alias");
    assertThat(listed.path("modelway").path("targets").path(0).path("model").asString())
        .isEqualTo("chat@2");

    // Clearing the override brings the config's alias back.
    HttpResponse<String> cleared = gateway.call("DELETE", "/admin/v1/aliases/chat-live",
        TestGateway.KEY, null);
    assertThat(cleared.statusCode()).isEqualTo(200);
    assertThat(served(TestGateway.send(chat("chat-live", TestGateway.KEY)))).isEqualTo("chat@1");
    assertThat(gateway.call("DELETE", "/admin/v1/aliases/chat-live", TestGateway.KEY, null)
        .statusCode()).isEqualTo(404);
  }

  @Test
  void aBlueGreenSwitchThroughTheConfigFileLosesNoCall() throws Exception {
    AtomicBoolean firstGreen = new AtomicBoolean();
    List<Seen> seen = underLoad("chat-reload", () -> {
      try {
        Files.writeString(gateway.configFile(), config("chat@2"));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      // The switch is done once a call has been served by green.
      await().atMost(Duration.ofSeconds(30)).until(() ->
          served(TestGateway.send(chat("chat-reload", TestGateway.KEY))).equals("chat@2"));
      firstGreen.set(true);
    });
    assertThat(firstGreen).isTrue();
    assertThat(seen).allSatisfy(s -> assertThat(s.status()).as(s.model()).isEqualTo(200));
    assertThat(seen).filteredOn(s -> !s.sentAfterSwitch()).extracting(Seen::model)
        .contains("chat@1");
    assertThat(seen).filteredOn(Seen::sentAfterSwitch).extracting(Seen::model)
        .containsOnly("chat@2");
  }

  @Test
  void theAdminApiRefusesAliasesThatCannotServe() {
    String member = json(gateway.post("/admin/v1/keys", "{\"tenant\":\"admin\",\"name\":\"m\"}")
        .body()).path("key").asString();
    assertThat(gateway.call("PUT", "/admin/v1/aliases/x", member,
        "{\"targets\":[{\"model\":\"chat@2\"}]}").statusCode()).isEqualTo(403);
    HttpResponse<String> heavy = gateway.call("PUT", "/admin/v1/aliases/x", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat@2\",\"weight\":2000}]}");
    assertThat(heavy.statusCode()).isEqualTo(400);
    assertThat(json(heavy.body()).path("error").path("message").asString())
        .contains("weight: 2000 (expected: 0 to 1000)");
    HttpResponse<String> nowhere = gateway.call("PUT", "/admin/v1/aliases/x", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat@3\"}]}");
    assertThat(nowhere.statusCode()).isEqualTo(400);
    assertThat(json(nowhere.body()).path("error").path("message").asString())
        .contains("'chat@3' cannot take calls: no such model");
    HttpResponse<String> chained = gateway.call("PUT", "/admin/v1/aliases/x", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat-canary\"}]}");
    assertThat(chained.statusCode()).isEqualTo(400);
    assertThat(gateway.call("PUT", "/admin/v1/aliases/chat@1", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat@2\"}]}").statusCode()).isEqualTo(409);
    assertThat(gateway.call("PUT", "/admin/v1/aliases/x", TestGateway.KEY,
        "{\"targets\":[{\"model\":\"chat@2\"}],\"sticky\":\"user\"}").statusCode()).isEqualTo(400);
    assertThat(json(gateway.get("/admin/v1/aliases").body()).path("data"))
        .extracting(a -> a.path("id").asString()).doesNotContain("x");
  }

  @Test
  void modelsListAliasesWithTheirTargets() {
    JsonNode data = json(gateway.get("/v1/models").body()).path("data");
    JsonNode canary = null;
    for (JsonNode model : data) {
      if (model.path("id").asString().equals("chat-canary")) {
        canary = model;
      }
    }
    assertThat(canary).isNotNull();
    assertThat(canary.path("modelway").path("source").asString()).isEqualTo("alias");
    assertThat(canary.path("modelway").path("targets").toString())
        .isEqualTo("[{\"model\":\"chat@1\",\"weight\":90},{\"model\":\"chat@2\",\"weight\":10}]");
    assertThat(data).extracting(m -> m.path("id").asString()).contains("chat@1", "chat@2");
  }
}
