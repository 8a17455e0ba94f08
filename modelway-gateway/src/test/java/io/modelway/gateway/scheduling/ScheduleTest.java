package io.modelway.gateway.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.ChaosMode;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Schedule stage end to end: a real gateway in front of a simulated server that may take one
 * call at once ({@code max-concurrent: 1}), called over HTTP.
 */
class ScheduleTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

  private SimServer sim;
  private TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private CompletableFuture<HttpResponse<String>> chat(String priority) {
    HttpRequest.Builder request = TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"));
    if (priority != null) {
      request.header(Priority.HEADER, priority);
    }
    return HTTP.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode error(HttpResponse<String> answer) {
    return JSON.readTree(answer.body()).path("error");
  }

  @Test
  void callsPastAnInstancesLimitWaitInTheGatewayAndAreRefusedFastPastTheQueue() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s", max-concurrent: 1}
        models:
          - {name: chat, backend: sim, scheduling: {max-queue: 2, max-wait: 30s}}
        """.formatted(sim.baseUrl()), Map.of());
    Scheduler scheduler = gateway.bean(Scheduler.class);
    assertThat(chat(null).join().statusCode()).isEqualTo(200);

    sim.switchChaosMode(ChaosMode.HANG); // the call in flight holds the one slot until released
    long before = sim.stats().requests();
    CompletableFuture<HttpResponse<String>> first = chat(null);
    await().atMost(Duration.ofSeconds(10)).until(() -> sim.stats().inflight() == 1);
    CompletableFuture<HttpResponse<String>> second = chat(null);
    CompletableFuture<HttpResponse<String>> third = chat("standard");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> scheduler.queued("chat", Priority.STANDARD) == 2);
    assertThat(sim.stats().requests()).as("the queued calls wait in the gateway, not in the sim")
        .isEqualTo(before + 1);

    HttpResponse<String> full = chat(null).join();
    assertThat(full.statusCode()).isEqualTo(503);
    assertThat(error(full).path("code").asString()).isEqualTo("queue_full");
    assertThat(full.headers().firstValue("retry-after")).contains("30");
    HttpResponse<String> shed = chat("sheddable").join();
    assertThat(shed.statusCode()).isEqualTo(429);
    assertThat(error(shed).path("code").asString()).isEqualTo("request_shed");
    assertThat(chat("urgent").join().statusCode()).as("a header naming no class").isEqualTo(400);

    third.cancel(true); // the client goes away while its call waits
    await().atMost(Duration.ofSeconds(10))
        .until(() -> scheduler.queued("chat", Priority.STANDARD) == 1);

    sim.switchChaosMode(ChaosMode.NORMAL);
    assertThat(first.join().statusCode()).isEqualTo(200);
    assertThat(second.join().statusCode()).isEqualTo(200);
    assertThat(sim.stats().requests()).as("the cancelled call never reached the sim")
        .isEqualTo(before + 2);
    assertThat(scheduler.queued("chat", Priority.STANDARD)).isZero();
    assertThat(gateway.get("/actuator/prometheus").body())
        .contains("modelway_scheduler_queued{model=\"chat\",priority=\"standard\"}")
        .contains("modelway_scheduler_rejected_total{model=\"chat\",priority=\"standard\","
            + "reason=\"queue_full\"}");
  }

  @Test
  void aModelWithoutLimitsDoesNotQueue() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim, scheduling: {max-queue: 0}}
        """.formatted(sim.baseUrl()), Map.of());
    sim.switchChaosMode(ChaosMode.HANG);
    CompletableFuture<HttpResponse<String>> first = chat(null);
    CompletableFuture<HttpResponse<String>> second = chat("sheddable");
    await().atMost(Duration.ofSeconds(10)).until(() -> sim.stats().inflight() == 2);
    sim.switchChaosMode(ChaosMode.NORMAL);
    assertThat(first.join().statusCode()).isEqualTo(200);
    assertThat(second.join().statusCode()).isEqualTo(200);
  }
}
