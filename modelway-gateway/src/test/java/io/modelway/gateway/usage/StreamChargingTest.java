package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Streams that do not complete are charged once, for what was generated: abandoned by the
 * client at several points, or cut by a backend that dies midway. The backend sends no usage
 * chunk here, so the gateway counts the text chunks it relayed.
 */
class StreamChargingTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** Tokens a full answer has; at 40 a second it takes a second. */
  private static final int FULL = 40;
  private static SimServer sim;
  /** Dies in the middle of a test. */
  private static SimServer doomed;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    SimOptions slow = SimOptions.defaults().withTiming(Duration.ZERO, 40).withOutputTokens(FULL);
    sim = SimServer.start(slow);
    doomed = SimServer.start(slow);
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
          doomed: {url: "%s"}
        models:
          - {name: chat, backend: sim}
          - {name: doomed, backend: doomed}
        """.formatted(sim.baseUrl(), doomed.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
    doomed.close();
  }

  /**
   * Streams a chat with {@code model} as {@code requestId}, reading {@code chunks} text events,
   * then runs {@code then} and hangs up.
   */
  private static int stream(String model, String requestId, int chunks, Runnable then)
      throws Exception {
    String body = "{\"model\":\"" + model + "\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"tell me a story\"}]}";
    URI uri = URI.create(gateway.url("/v1/chat/completions"));
    int read = 0;
    try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer " + TestGateway.KEY + "\r\nx-request-id: " + requestId + "\r\n"
          + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
          .getBytes(StandardCharsets.UTF_8));
      out.flush();
      BufferedReader in = new BufferedReader(
          new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while (read < chunks && (line = in.readLine()) != null) {
        if (line.startsWith("data: {") && line.contains("\"content\":\"") 
            && !line.contains("\"content\":\"\"")) {
          read++;
        }
      }
      then.run();
      if (model.equals("doomed")) { // read on to the end the gateway gives a cut stream
        String last = null;
        while ((line = in.readLine()) != null && !line.equals("0")) {
          if (line.startsWith("data: ")) {
            last = line;
          }
        }
        assertThat(last).startsWith("data: {\"error\"");
      }
    }
    return read;
  }

  private static JsonNode row(String requestId) {
    JsonNode[] found = new JsonNode[1];
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode data = JSON.readTree(gateway.get("/admin/v1/usage?request_id=" + requestId).body())
          .path("data");
      assertThat(data.size()).as("ledger rows of " + requestId).isEqualTo(1);
      found[0] = data.get(0);
    });
    return found[0];
  }

  @Test
  void aStreamAbandonedByTheClientIsChargedOnceForWhatWasSent() throws Exception {
    for (int stop : new int[] {1, 7, 23}) {
      String id = "abandoned-" + stop;
      int read = stream("chat", id, stop, () -> { });
      assertThat(read).isEqualTo(stop);
      JsonNode row = row(id);
      assertThat(row.path("outcome").asString()).isEqualTo("cancelled");
      assertThat(row.path("usage_reported").asBoolean()).isFalse();
      // What the gateway relayed: at least what the client read, less than a full answer.
      assertThat(row.path("completion_tokens").asLong()).isBetween((long) stop, FULL - 1L);
      assertThat(row.path("prompt_tokens").asLong()).isPositive();
    }
  }

  @Test
  void aStreamWhoseBackendDiesMidwayIsChargedOnceForWhatWasSent() throws Exception {
    int read = stream("doomed", "cut-by-backend", 10,
        () -> doomed.switchChaosMode(io.modelway.sim.ChaosMode.DIE));
    assertThat(read).isEqualTo(10);
    JsonNode row = row("cut-by-backend");
    assertThat(row.path("outcome").asString()).isEqualTo("failed");
    assertThat(row.path("completion_tokens").asLong()).isBetween(10L, FULL - 1L);
  }
}
