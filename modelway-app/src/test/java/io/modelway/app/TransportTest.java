package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.sim.SimServer;
import io.modelway.sim.SimOptions;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code MODELWAY_TRANSPORT} picks the event loops' transport of a real {@code modelway up}. */
class TransportTest {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  private static final String KEY = "mw-transport-key";

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"epoll", "nio"})
  void servesAndCallsOutOnTheNamedTransport(String transport) throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      int port = ModelwayProcess.freePort();
      String base = "http://127.0.0.1:" + port;
      try (ModelwayProcess gateway = ModelwayProcess.start("up-" + transport, dir,
          Map.of("MODELWAY_ADMIN_KEY", KEY, "MODELWAY_TRANSPORT", transport),
          "up", "--host", "127.0.0.1", "--port", Integer.toString(port),
          "--data-dir", dir.resolve(transport).toString(), "--no-embedding-model",
          "--upstream", "sim=" + sim.baseUrl())) {
        await().atMost(Duration.ofMinutes(2)).until(() -> answers(base));
        HttpResponse<String> chat = HTTP.send(HttpRequest.newBuilder(
                URI.create(base + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + KEY)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"sim/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(chat.body()).contains("chat.completion");
        String name = transport.equals("epoll") ? "Epoll" : "Nio";
        assertThat(gateway.output()).containsPattern("Netty event loops: \\d+ on " + name + ";");
      }
    }
  }

  @Test
  void refusesATransportItDoesNotKnow() throws Exception {
    try (ModelwayProcess gateway = ModelwayProcess.start("up-quic", dir,
        Map.of("MODELWAY_TRANSPORT", "quic"), "up", "--port", "0")) {
      assertThat(gateway.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
      assertThat(gateway.output())
          .contains("MODELWAY_TRANSPORT=quic is not a transport: use auto, io_uring, epoll or nio");
    }
  }

  private static boolean answers(String base) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/models"))
              .header("Authorization", "Bearer " + KEY).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
