package io.modelway.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.Stores;
import io.modelway.gateway.TestGateway;
import io.modelway.gateway.TestRedis;
import io.modelway.runtime.ModelHost;
import io.modelway.runtime.onnx.EmbeddingOptions;
import io.modelway.runtime.onnx.OnnxEmbeddingBackend;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two gateways on one PostgreSQL store sharing cached answers through a real Redis (a {@code
 * redis-server} of the test's own), and what they do when it dies and comes back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedResponseCacheTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static SimServer sim;
  private static Stores.Store store;
  private static TestRedis redis;
  private static ModelHost models;
  private static final List<TestGateway> gateways = new ArrayList<>();

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    store = Stores.postgres();
    redis = TestRedis.start();
    models = new ModelHost(spec -> OnnxEmbeddingBackend.load(spec.name(),
        new EmbeddingOptions(32, Duration.ofMillis(1), 1)), Runnable::run, Clock.systemUTC(),
        Duration.ofSeconds(1));
    models.load(new ModelHost.ModelSpec("all-minilm-l6-v2", "builtin:all-minilm-l6-v2")).join();
    for (int i = 0; i < 2; i++) {
      gateways.add(TestGateway.start("""
          backends:
            sim: {url: "%s"}
          models:
            - {name: chat, backend: sim}
            - {name: semantic, backend: sim, cache: {semantic: {enabled: true}}}
          """.formatted(sim.baseUrl()), Map.of(), options -> options
          .withModels(models)
          .withDatabaseUrl(Optional.of(store.dataSource().getJdbcUrl()))
          .withRedis(Optional.of(redis.url()), true)));
    }
    // A gateway that could not connect while it started (a busy machine) retries every few
    // seconds; the tests start once every one shares.
    for (TestGateway gateway : gateways) {
      await().atMost(Duration.ofSeconds(30)).until(() -> mode(gateway).equals("redis"));
    }
  }

  @AfterAll
  static void stop() {
    gateways.forEach(TestGateway::close);
    redis.close();
    models.close();
    store.close();
    sim.close();
  }

  private static String question() {
    return "{\"model\":\"chat\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\""
        + UUID.randomUUID() + "\"}]}";
  }

  private static String cacheResult(TestGateway gateway, String body, String... headers) {
    HttpRequest.Builder request = TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> answer = TestGateway.send(request.build());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    return answer.headers().firstValue(CacheStage.RESULT_HEADER).orElse("none");
  }

  private static String mode(TestGateway gateway) {
    return JSON.readTree(gateway.get("/actuator/health").body())
        .path("components").path("cache").path("details").path("mode").asString();
  }

  @Test
  @Order(1)
  void anAnswerCachedThroughOneGatewayIsAHitOnTheOther() {
    String body = question();
    long before = sim.stats().requests();
    assertThat(cacheResult(gateways.get(0), body)).isEqualTo("miss");
    // The first gateway's write to Redis is in the background: the other finds it at once or
    // a moment later, never a second model call once it has.
    await().atMost(Duration.ofSeconds(5))
        .until(() -> cacheResult(gateways.get(1), body).equals("hit"));
    assertThat(cacheResult(gateways.get(0), body)).isEqualTo("hit");
    assertThat(sim.stats().requests() - before).isBetween(1L, 2L);
    assertThat(mode(gateways.get(0))).isEqualTo("redis");
    assertThat(gateways.get(0).bean(ResponseCache.class).bytesHeld())
        .as("nothing held in this gateway's memory").isZero();
  }

  @Test
  @Order(2)
  void aPurgeThroughOneGatewayEmptiesTheSharedCache() {
    String body = question();
    cacheResult(gateways.get(0), body);
    await().atMost(Duration.ofSeconds(5))
        .until(() -> cacheResult(gateways.get(1), body).equals("hit"));
    HttpResponse<String> purged = gateways.get(1).call("DELETE", "/admin/v1/cache?model=chat",
        TestGateway.KEY, null);
    assertThat(purged.statusCode()).as(purged.body()).isEqualTo(200);
    assertThat(JSON.readTree(purged.body()).path("purged").asLong()).isPositive();
    assertThat(cacheResult(gateways.get(0), body)).isEqualTo("miss");
  }

  @Test
  @Order(3)
  void aQuestionAnsweredThroughOneGatewayIsFoundByMeaningOnTheOther() {
    String system = "You answer questions about " + UUID.randomUUID() + ".";
    String asked = "{\"model\":\"semantic\",\"temperature\":0,\"messages\":[{\"role\":"
        + "\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":"
        + "\"What is the boiling point of water at sea level?\"}]}";
    assertThat(cacheResult(gateways.get(0), asked)).isEqualTo("miss");
    String paraphrase = asked.replace("What is the boiling point of water at sea level?",
        "At sea level, what is the boiling point of water?");
    await().atMost(Duration.ofSeconds(10)).until(() ->
        cacheResult(gateways.get(1), paraphrase, "Cache-Control", "no-store").equals("semantic-hit"));
  }

  @Test
  @Order(4)
  void withRedisDownEachGatewayCachesAloneAndNoRequestFails() {
    redis.kill();
    String body = question();
    assertThat(cacheResult(gateways.get(0), body)).isEqualTo("miss");
    assertThat(cacheResult(gateways.get(0), body)).as("from its own memory").isEqualTo("hit");
    assertThat(mode(gateways.get(0))).isEqualTo("local (redis unreachable)");
    assertThat(JSON.readTree(gateways.get(0).get("/actuator/health").body()).path("status")
        .asString()).isEqualTo("UP");

    redis.restart();
    String after = question();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      cacheResult(gateways.get(0), after);
      assertThat(mode(gateways.get(0))).isEqualTo("redis");
    });
    await().atMost(Duration.ofSeconds(30))
        .until(() -> cacheResult(gateways.get(1), after).equals("hit"));
  }
}
