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
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
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
              .contains("unknown key 'conect' in backends.other.timeouts"));
      assertThat(output.getAll()).contains("Config change rejected", "unknown key 'conect' in backends.other.timeouts");
      assertThat(gateway.get("/v1/models").body()).contains("new-model").doesNotContain("newer-model");
    }
  }

  /**
   * Clients that call {@code model} back to back until stopped, counting answers by outcome:
   * what a gateway under load sees while its config file is edited.
   */
  private static final class Load implements AutoCloseable {
    private final List<Thread> clients = new ArrayList<>();
    private final AtomicLong ok = new AtomicLong();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private volatile boolean stopped;

    Load(TestGateway gateway, String model, int clients) {
      String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}]}";
      for (int i = 0; i < clients; i++) {
        Thread t = new Thread(() -> {
          while (!stopped) {
            try {
              HttpResponse<String> r = gateway.post("/v1/chat/completions", body);
              if (r.statusCode() == 200) {
                ok.incrementAndGet();
              } else {
                failures.add(r.statusCode() + " " + r.body());
              }
            } catch (RuntimeException e) {
              failures.add(e.toString());
            }
          }
        }, "load-" + i);
        t.setDaemon(true);
        this.clients.add(t);
      }
      this.clients.forEach(Thread::start);
    }

    long ok() {
      return ok.get();
    }

    /** Waits until {@code n} more calls succeeded, so that each step runs under load. */
    void carries(long n) {
      long target = ok.get() + n;
      await().atMost(Duration.ofSeconds(30)).until(() -> ok.get() >= target);
    }

    @Override
    public void close() throws InterruptedException {
      stopped = true;
      for (Thread t : clients) {
        t.join(60_000);
      }
    }
  }

  private static String rejectedChange(TestGateway gateway) {
    return JSON.readTree(gateway.get("/actuator/health").body()).path("components")
        .path("config").path("details").path("rejectedChange").asString();
  }

  /**
   * Guards issue 13 item 7: an emptied config file was applied (every call 404) and an editor's
   * truncate-then-write failed calls. Each edit here runs under load and no call fails.
   */
  @Test
  void editsUnderLoadFailNoCall(CapturedOutput output) throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults());
        TestGateway gateway = TestGateway.start("""
            backends:
              sim: {url: "%s"}
            models:
              - {name: chat, backend: sim}
            """.formatted(sim.baseUrl()), Map.of())) {
      Path file = gateway.configFile();
      String config = Files.readString(file);
      LiveCatalog catalog = gateway.bean(LiveCatalog.class);
      Load load = new Load(gateway, "chat", 3);
      try {
        load.carries(50);

        // An editor truncates the file, then writes it in two parts with pauses between,
        // shorter than the settle time: read once, finished.
        Files.writeString(file, "");
        Thread.sleep(50); // the editor's pace, not a wait for a result
        Files.writeString(file, config.substring(0, config.indexOf("models:")));
        Thread.sleep(50);
        Files.writeString(file, config + "# saved\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> catalog.status().version() == 2);
        load.carries(50);

        // The same with an editor that stalls at each step for longer than the settle time:
        // the empty file and the one cut short before its models are refused, the last applied.
        Files.writeString(file, "");
        await().atMost(Duration.ofSeconds(10))
            .until(() -> rejectedChange(gateway).contains("the file is empty"));
        load.carries(50);
        Files.writeString(file, config.substring(0, config.indexOf("models:")));
        await().atMost(Duration.ofSeconds(10)).until(() -> rejectedChange(gateway)
            .contains("no models while the config in force serves 1 model"));
        load.carries(50);
        Files.writeString(file, config + "# saved again\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> catalog.status().version() == 3);
        assertThat(rejectedChange(gateway)).isEmpty();
        load.carries(50);

        // Emptied, and left empty for a while (several settle times), then restored.
        Files.writeString(file, "");
        await().atMost(Duration.ofSeconds(10))
            .until(() -> rejectedChange(gateway).contains("the file is empty"));
        long emptyFrom = load.ok();
        load.carries(200);
        assertThat(catalog.current().models()).containsExactly("chat");
        Files.writeString(file, config + "# restored\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> catalog.status().version() == 4);
        load.carries(50);

        // Replaced the safe way: written beside it, renamed over it (a new inode).
        Path next = file.resolveSibling(".modelway.yaml.tmp");
        Files.writeString(next, config + "  - {name: chat-2, backend: sim}\n");
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(10)).until(() -> catalog.status().version() == 5);
        assertThat(gateway.get("/v1/models").body()).contains("chat-2");
        load.carries(50);
        assertThat(load.ok() - emptyFrom).isGreaterThanOrEqualTo(200);
      } finally {
        load.close();
      }
      System.out.printf("config edits under load: %d calls answered, %d failed%n", load.ok(),
          load.failures.size());
      assertThat(load.failures).as("failed calls of %d", load.ok()).isEmpty();
      assertThat(output.getAll()).contains("Config change refused", "write 'models: []'");
    }
  }
}
