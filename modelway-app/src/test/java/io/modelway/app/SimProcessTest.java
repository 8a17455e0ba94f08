package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code modelway sim} as a real process: its chaos mode die ends the process as kill -9 would. */
class SimProcessTest {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
  private static final String CHAT = """
      {"model":"m","stream":true,"messages":[{"role":"user","content":"hello"}]}""";

  @TempDir Path dir;
  private ModelwayProcess sim;
  private String root;
  private boolean passed;

  @AfterEach
  void stop() throws InterruptedException {
    if (!passed) {
      System.out.println(sim.output());
    }
    sim.close();
  }

  private void start(String... chaos) {
    int port = ModelwayProcess.freePort();
    root = "http://127.0.0.1:" + port;
    String[] args = Stream.concat(
        Stream.of("sim", "--host", "127.0.0.1", "--port", Integer.toString(port),
            "--tokens-per-second", "20", "--output-tokens", "400"),
        Stream.of(chaos)).toArray(String[]::new);
    sim = ModelwayProcess.start("sim", dir, Map.of(), args);
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      try {
        return get("/health").statusCode() == 200;
      } catch (IOException e) {
        return false;
      }
    });
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(root + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<Stream<String>> post(String path, String body)
      throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(root + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofLines());
  }

  @Test
  void dieAfterRequestsHaltsTheProcessWhenTheNextOneArrivesAndCutsTheStreamsInFlight()
      throws Exception {
    start("--die-after", "1");
    HttpResponse<Stream<String>> first = post("/v1/chat/completions", CHAT);
    assertThat(first.statusCode()).isEqualTo(200);
    Iterator<String> lines = first.body().iterator();
    assertThat(lines.next()).startsWith("data: ");

    assertThatThrownBy(() -> post("/v1/chat/completions", CHAT)).isInstanceOf(IOException.class);

    assertThat(sim.awaitExit(Duration.ofSeconds(30))).isEqualTo(SimCommand.DIE_STATUS);
    assertThat(sim.output()).contains("chaos mode die, halting");
    StringBuilder rest = new StringBuilder();
    try {
      lines.forEachRemaining(rest::append);
    } catch (RuntimeException cut) {
      // the connection was reset
    }
    assertThat(rest.toString()).doesNotContain("[DONE]");
    passed = true;
  }

  @Test
  void dieByTheControlEndpointHaltsTheProcessAtThatMoment() throws Exception {
    start();
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/sim/chaos"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"mode\":\"die\"}")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(sim.awaitExit(Duration.ofSeconds(30))).isEqualTo(SimCommand.DIE_STATUS);
    passed = true;
  }
}
