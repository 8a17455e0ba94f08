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
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.json.JsonMapper;

/** The config file changes under a running gateway. */
@ExtendWith(OutputCaptureExtension.class)
class ConfigReloadTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Test
  void appliesValidChangesWithoutDroppingRequestsAndRejectsInvalidOnes(CapturedOutput output)
      throws Exception {
    try (SimServer slow = SimServer.start(SimOptions.defaults().withTiming(Duration.ZERO, 20));
        SimServer other = SimServer.start(SimOptions.defaults());
        TestGateway gateway = TestGateway.start("""
            backends:
              slow: {url: "%s"}
            models:
              - {name: old-model, backend: slow}
            """.formatted(slow.baseUrl()), Map.of())) {

      // A stream of 16 tokens at 20/s is under way while the config changes under it.
      CompletableFuture<HttpResponse<String>> inFlight = TestGateway.client().sendAsync(
          TestGateway.authorized(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions"))))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(
                  "{\"model\":\"old-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> slow.stats().inflight() == 1);

      Files.writeString(gateway.configFile(), """
          backends:
            other: {url: "%s"}
          models:
            - {name: new-model, backend: other}
          """.formatted(other.baseUrl()));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(gateway.get("/v1/models").body()).contains("new-model").doesNotContain("old-model"));
      assertThat(gateway.post("/v1/chat/completions",
          "{\"model\":\"new-model\",\"messages\":[{\"role\":\"user\"}]}").statusCode()).isEqualTo(200);

      HttpResponse<String> finished = inFlight.get();
      assertThat(finished.statusCode()).isEqualTo(200);
      assertThat(finished.body()).endsWith("data: [DONE]\n\n");
      // Counted once the sim's last token is handed over, which can be just after it arrived.
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
          assertThat(slow.stats().completed()).isEqualTo(1));

      Files.writeString(gateway.configFile(), """
          backends:
            other: {url: "%s", timeouts: {conect: 1s}}
          models:
            - {name: newer-model, backend: other}
          """.formatted(other.baseUrl()));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(JSON.readTree(gateway.get("/actuator/health").body())
              .path("components").path("config").path("details").path("rejectedChange").asString())
              .contains("backends.other.timeouts.conect"));
      assertThat(output.getAll()).contains("Config change rejected", "backends.other.timeouts.conect");
      assertThat(gateway.get("/v1/models").body()).contains("new-model").doesNotContain("newer-model");
    }
  }
}
