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
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Priority classes end to end (issue 5, part 7): tenants on plans made through the admin API,
 * calling a real gateway over HTTP in front of a simulated server that takes one call at once
 * ({@code max-concurrent: 1}), held busy by a call the simulator never answers.
 */
class PriorityOverHttpTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Duration WAIT = Duration.ofSeconds(10);

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

  private JsonNode admin(String path, String json) {
    HttpResponse<String> answer = gateway.call("POST", path, TestGateway.KEY, json);
    assertThat(answer.statusCode()).as(path + " " + answer.body()).isBetween(200, 299);
    return JSON.readTree(answer.body());
  }

  /** A key of a new tenant on a new plan of class {@code priority}. */
  private String tenantOn(String tenant, String priority) {
    admin("/admin/v1/plans", "{\"id\":\"" + tenant + "-plan\",\"priority\":\"" + priority + "\"}");
    admin("/admin/v1/tenants", "{\"id\":\"" + tenant + "\",\"plan\":\"" + tenant + "-plan\"}");
    return admin("/admin/v1/keys", "{\"tenant\":\"" + tenant + "\"}").path("key").asString();
  }

  /** A chat call, answered whole; neither read from nor kept in the response cache. */
  private CompletableFuture<HttpResponse<String>> chat(String key, String text,
      @Nullable String priority) {
    HttpRequest.Builder request = HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"messages\":[{\"role\":"
            + "\"user\",\"content\":\"" + text + "\"}]}"));
    if (priority != null) {
      request.header(Priority.HEADER, priority);
    }
    return TestGateway.client().sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aCriticalTenantsCallIsServedBeforeStandardCallsThatArrivedEarlier() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s", max-concurrent: 1}
        models:
          - {name: chat, backend: sim, scheduling: {max-queue: 10, max-wait: 60s}}
        """.formatted(sim.baseUrl()), Map.of());
    Scheduler scheduler = gateway.bean(Scheduler.class);
    String critical = tenantOn("interactive", "critical");
    String standard = tenantOn("batch", "standard");
    assertThat(chat(standard, "warm up", null).join().statusCode()).isEqualTo(200);

    sim.switchChaosMode(ChaosMode.HANG); // a call that reaches the sim now holds the one slot
    long before = sim.stats().requests();
    CompletableFuture<HttpResponse<String>> holder = chat(standard, "holder", null);
    await().atMost(WAIT).until(() -> sim.stats().inflight() == 1);
    CompletableFuture<HttpResponse<String>> first = chat(standard, "standard one", null);
    CompletableFuture<HttpResponse<String>> second = chat(standard, "standard two", null);
    await().atMost(WAIT).until(() -> scheduler.queued("chat", Priority.STANDARD) == 2);
    // The critical tenant lowers one call of its own: it waits with the standard ones.
    CompletableFuture<HttpResponse<String>> lowered = chat(critical, "lowered", "standard");
    await().atMost(WAIT).until(() -> scheduler.queued("chat", Priority.STANDARD) == 3);
    CompletableFuture<HttpResponse<String>> urgent = chat(critical, "urgent", null);
    await().atMost(WAIT).until(() -> scheduler.queued("chat", Priority.CRITICAL) == 1);
    assertThat(sim.stats().requests()).as("only the holder reached the sim").isEqualTo(before + 1);

    holder.cancel(true); // its client goes away: the slot frees, and the queue hands it on
    await().atMost(WAIT).until(() -> sim.stats().requests() == before + 2);
    assertThat(scheduler.queued("chat", Priority.CRITICAL))
        .as("the call that got the slot is the critical one").isZero();
    assertThat(scheduler.queued("chat", Priority.STANDARD))
        .as("every standard call still waits, though each arrived before it").isEqualTo(3);
    assertThat(first).isNotDone();
    assertThat(second).isNotDone();
    assertThat(lowered).isNotDone();

    sim.switchChaosMode(ChaosMode.NORMAL); // the sim answers the held call, then each in turn
    assertThat(urgent.join().statusCode()).isEqualTo(200);
    assertThat(first.join().statusCode()).isEqualTo(200);
    assertThat(second.join().statusCode()).isEqualTo(200);
    assertThat(lowered.join().statusCode()).isEqualTo(200);
    assertThat(sim.stats().requests()).isEqualTo(before + 5);
    assertThat(gateway.get("/actuator/prometheus").body())
        .contains("modelway_scheduler_wait_seconds_count{model=\"chat\",priority=\"critical\"} 1");
  }

  @Test
  void aCriticalReserveKeepsSlotsThatOnlyCriticalCallsTake() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s", max-concurrent: 3}
        models:
          - {name: chat, backend: sim, scheduling: {max-queue: 10, max-wait: 60s, critical-reserve: 2}}
        """.formatted(sim.baseUrl()), Map.of());
    Scheduler scheduler = gateway.bean(Scheduler.class);
    String critical = tenantOn("pager", "critical");
    String standard = tenantOn("reports", "standard");
    assertThat(chat(standard, "warm up", null).join().statusCode()).isEqualTo(200);

    sim.switchChaosMode(ChaosMode.HANG);
    CompletableFuture<HttpResponse<String>> one = chat(standard, "one", null);
    await().atMost(WAIT).until(() -> sim.stats().inflight() == 1);
    CompletableFuture<HttpResponse<String>> two = chat(standard, "two", null);
    await().atMost(WAIT).until(() -> scheduler.queued("chat", Priority.STANDARD) == 1);
    assertThat(sim.stats().inflight()).as("standard calls see 3 - 2 slots").isEqualTo(1);
    CompletableFuture<HttpResponse<String>> urgent = chat(critical, "urgent", null);
    CompletableFuture<HttpResponse<String>> urgent2 = chat(critical, "urgent too", null);
    await().atMost(WAIT).until(() -> sim.stats().inflight() == 3);
    assertThat(scheduler.queued("chat", Priority.CRITICAL)).isZero();
    assertThat(scheduler.queued("chat", Priority.STANDARD)).isEqualTo(1);

    sim.switchChaosMode(ChaosMode.NORMAL);
    for (CompletableFuture<HttpResponse<String>> call : java.util.List.of(one, two, urgent, urgent2)) {
      call.cancel(true);
    }
  }
}
