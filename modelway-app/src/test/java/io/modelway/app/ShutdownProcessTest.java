package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM on a real {@code modelway up}: readiness turns to 503 at once, calls in progress finish
 * within {@code gateway.server.shutdown-grace}, and the process exits as soon as none is left.
 * Regression: an idle process took 18-20 s to exit ("LoopResources couldn't be disposed within
 * 15000ms"), one with a half-sent request 34 s.
 */
class ShutdownProcessTest {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  private static final String KEY = "mw-shutdown-key";

  @TempDir Path dir;

  @Test
  void anIdleProcessExitsAtOnceOnSigterm() throws Exception {
    int port = ModelwayProcess.freePort();
    try (ModelwayProcess up = ModelwayProcess.start("up-idle", dir, Map.of("MODELWAY_ADMIN_KEY", KEY),
        "up", "--host", "127.0.0.1", "--port", Integer.toString(port), "--data-dir",
        dir.resolve("data").toString(), "--no-embedding-model")) {
      String base = "http://127.0.0.1:" + port;
      await().atMost(Duration.ofMinutes(2)).until(() -> status(base + "/actuator/health/readiness") == 200);
      long signalled = System.nanoTime();
      up.terminate();
      up.awaitExit(Duration.ofSeconds(60));
      System.out.printf("idle exit after SIGTERM: %d ms%n", (System.nanoTime() - signalled) / 1_000_000);
      assertThat(up.output()).contains("Shutting down: no call in progress")
          .doesNotContain("couldn't be disposed").doesNotContain("still running after timeout");
    }
  }

  @Test
  void aStreamInProgressFinishesWhileReadinessSays503() throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults()
        .withTiming(Duration.ofMillis(50), 10).withOutputTokens(40))) {
      Path config = dir.resolve("modelway.yaml");
      Files.writeString(config, """
          gateway:
            server: {shutdown-grace: 2m}
          backends:
            sim: {url: '%s'}
          models:
            - {name: chat, backend: sim}
          """.formatted(sim.baseUrl()));
      int port = ModelwayProcess.freePort();
      try (ModelwayProcess up = ModelwayProcess.start("up-drain", dir,
          Map.of("MODELWAY_ADMIN_KEY", KEY), "up", "--host", "127.0.0.1", "--port",
          Integer.toString(port), "--data-dir", dir.resolve("data").toString(),
          "--no-embedding-model", "--config", config.toString())) {
        String base = "http://127.0.0.1:" + port;
        await().atMost(Duration.ofMinutes(2)).until(() -> status(base + "/actuator/health/readiness") == 200);
        HttpResponse<InputStream> stream = HTTP.send(HttpRequest.newBuilder(
                URI.create(base + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + KEY)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        BufferedReader lines = new BufferedReader(
            new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        String first = lines.readLine();
        assertThat(first).startsWith("data: ");

        up.terminate();
        // The server still listens and says it is not ready, while the stream goes on.
        await().atMost(Duration.ofSeconds(30)).until(() -> status(base + "/actuator/health/readiness") == 503);
        assertThat(up.isAlive()).isTrue();
        String rest = lines.lines().collect(Collectors.joining("\n"));
        assertThat(rest).as("the rest of the stream").contains("data: [DONE]");

        up.awaitExit(Duration.ofSeconds(60));
        assertThat(up.output()).contains("Shutting down: no call in progress");
      }
    }
  }

  @Test
  void aCallThatOutlastsTheGraceIsClosedAndTheProcessExits() throws Exception {
    Path config = dir.resolve("modelway.yaml");
    Files.writeString(config, """
        gateway:
          server: {shutdown-grace: 2s, request-body-timeout: 10m}
        """);
    int port = ModelwayProcess.freePort();
    try (ModelwayProcess up = ModelwayProcess.start("up-grace", dir,
        Map.of("MODELWAY_ADMIN_KEY", KEY), "up", "--host", "127.0.0.1", "--port",
        Integer.toString(port), "--data-dir", dir.resolve("data").toString(),
        "--no-embedding-model", "--config", config.toString())) {
      String base = "http://127.0.0.1:" + port;
      await().atMost(Duration.ofMinutes(2)).until(() -> status(base + "/actuator/health/readiness") == 200);
      try (Socket slow = new Socket("127.0.0.1", port)) {
        // A call whose body never ends: in progress until the grace period is over.
        slow.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            + "Authorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\n"
            + "Content-Length: 100\r\n\r\n{").getBytes(StandardCharsets.UTF_8));
        await().atMost(Duration.ofSeconds(30)).until(() -> up.output().contains("HTTP server:"));
        up.terminate();
        up.awaitExit(Duration.ofSeconds(60));
        slow.setSoTimeout(10_000);
        try {
          assertThat(slow.getInputStream().read()).isEqualTo(-1);
        } catch (SocketException reset) {
          // closed by a reset: closed all the same
        }
      }
      assertThat(up.output()).contains("the grace period of 2000 ms is over; closing 1 call(s)");
    }
  }

  private static int status(String url) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
          .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
