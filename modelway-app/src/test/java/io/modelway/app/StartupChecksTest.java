package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up refusals of a real {@code modelway up}: each exits with code 2 and exactly one line,
 * no stack trace, before anything slow starts; {@code --debug} adds the trace.
 */
class StartupChecksTest {
  /** Generous: the checks take about a second, but the machine may be busy. */
  private static final Duration EXIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  private ModelwayProcess up(String name, String... args) {
    List<String> all = new java.util.ArrayList<>(List.of("up", "--host", "127.0.0.1",
        "--no-embedding-model"));
    all.addAll(List.of(args));
    return ModelwayProcess.start(name, dir, Map.of(), all.toArray(String[]::new));
  }

  private static void assertRefusedWith(ModelwayProcess process, String line) throws Exception {
    assertThat(process.awaitExit(EXIT)).as(process.output()).isEqualTo(2);
    assertThat(process.lines()).as(process.output()).containsExactly(line);
  }

  @Test
  void refusesAPortInUseInOneLine() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = taken.getLocalPort();
      try (ModelwayProcess up = up("port", "--port", Integer.toString(port),
          "--data-dir", dir.resolve("data").toString())) {
        assertRefusedWith(up,
            "modelway: port " + port + " is in use; stop what holds it or pass --port N");
      }
    }
  }

  @Test
  void debugAddsTheStackTraceToARefusal() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = taken.getLocalPort();
      try (ModelwayProcess up = up("port-debug", "--port", Integer.toString(port),
          "--data-dir", dir.resolve("data").toString(), "--debug")) {
        assertThat(up.awaitExit(EXIT)).as(up.output()).isEqualTo(2);
        assertThat(up.lines()).as(up.output())
            .contains("modelway: port " + port + " is in use; stop what holds it or pass --port N")
            .anySatisfy(l -> assertThat(l).contains("at io.modelway.app.StartupChecks.port"));
      }
    }
  }

  @Test
  void refusesADataDirThatAnotherModelwayHolds() throws Exception {
    Path data = dir.resolve("data");
    try (ModelwayProcess first = up("first", "--port", Integer.toString(ModelwayProcess.freePort()),
        "--data-dir", data.toString())) {
      Path lock = data.resolve(StartupChecks.DataDirLock.FILE);
      await().atMost(EXIT).until(() -> Files.exists(lock)
          && Files.readString(lock).strip().equals(Long.toString(first.pid())));
      try (ModelwayProcess second = up("second",
          "--port", Integer.toString(ModelwayProcess.freePort()), "--data-dir", data.toString())) {
        assertRefusedWith(second, "modelway: the data dir " + data.toAbsolutePath()
            + " is in use by another Modelway (pid " + first.pid() + "); stop it or pass --data-dir");
      }
    }
  }

  @Test
  void namesAnUnknownKeyAsWrittenWithItsLine() throws Exception {
    Path config = dir.resolve("modelway.yaml");
    Files.writeString(config, """
        backends:
          sim: {url: http://127.0.0.1:8000/v1}
        modles:
          - {name: chat, backend: sim}
        """);
    try (ModelwayProcess up = up("unknown-key", "--port", "0",
        "--data-dir", dir.resolve("data").toString(), "--config", config.toString())) {
      assertRefusedWith(up, "modelway: invalid config: " + config
          + ":3: unknown key 'modles' (did you mean 'models'?)");
    }
  }

  @Test
  void refusesABackendWhoseApiKeyVariableIsNotSet() throws Exception {
    Path config = dir.resolve("modelway.yaml");
    Files.writeString(config, """
        backends:
          openai: {url: "https://api.openai.com/v1", api-key-env: MODELWAY_TEST_UNSET_KEY}
        """);
    try (ModelwayProcess up = up("api-key", "--port", "0",
        "--data-dir", dir.resolve("data").toString(), "--config", config.toString())) {
      assertRefusedWith(up, "modelway: invalid config: backends.openai.api-key-env: environment"
          + " variable MODELWAY_TEST_UNSET_KEY is not set (expected: the backend's API key in it)");
    }
  }

  @Test
  void namesTheLineAndColumnOfAYamlSyntaxError() throws Exception {
    Path config = dir.resolve("modelway.yaml");
    Files.writeString(config, """
        backends:
          sim: {url: http://127.0.0.1:8000/v1
        models: []
        """);
    try (ModelwayProcess up = up("yaml", "--port", "0",
        "--data-dir", dir.resolve("data").toString(), "--config", config.toString())) {
      assertThat(up.awaitExit(EXIT)).as(up.output()).isEqualTo(2);
      assertThat(up.lines()).as(up.output()).singleElement().asString()
          .startsWith("modelway: invalid config: " + config + ":3:")
          .contains(": not valid YAML: ");
    }
  }

  @Test
  void aServerLogsOneSummaryWithoutLibraryChatterThenOneLinePerFailedCall() throws Exception {
    Path config = dir.resolve("modelway.yaml");
    Files.writeString(config, """
        backends:
          sim: {url: "http://127.0.0.1:9/v1"}
        models:
          - {name: chat, backend: sim}
        """);
    int port = ModelwayProcess.freePort();
    try (ModelwayProcess up = ModelwayProcess.start("summary", dir, Map.of(), "up",
        "--host", "127.0.0.1",
        "--port", Integer.toString(port), "--no-embedding-model",
        "--data-dir", dir.resolve("data").toString(), "--config", config.toString())) {
      await().atMost(Duration.ofMinutes(2)).until(() -> up.output().contains("  Data: "));
      assertThat(up.output())
          .containsPattern("Modelway \\S+ up \\(all-in-one\\) in \\d+\\.\\d s")
          .contains("  Listening on http://127.0.0.1:" + port
              + "/v1 (admin API /admin/v1, health /actuator/health)")
          .contains("  Models: chat -> sim")
          .contains("  Backends: sim = http://127.0.0.1:9/v1")
          .contains("  Admin key: created at this first start (printed above, once; set"
              + " MODELWAY_ADMIN_KEY to use your own)")
          .contains("  Data: " + dir.resolve("data").toAbsolutePath()
              + " (H2 store, SQLite ledger); config: " + config.toAbsolutePath() + " (watched)")
          .doesNotContain("org.flywaydb", "o.f.c.", "o.f.core", "HikariPool", "HikariDataSource",
              "Netty started on port", "Started Modelway", "newer than the version Flyway");
      assertThat(up.output().indexOf("  Admin key (shown once"))
          .as("the key is printed above the summary")
          .isPositive().isLessThan(up.output().indexOf(" up (all-in-one) in "));

      java.net.http.HttpResponse<String> refused = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(
                  java.net.URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
              .header("Authorization", "Bearer mw-not-a-key")
              .header("Content-Type", "application/json")
              .header("x-request-id", "req-startup-test")
              .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\"}"))
              .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(401);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(up.lines())
          .filteredOn(l -> l.contains("call failed: "))
          .singleElement().asString()
          .contains(" INFO ")
          .endsWith("call failed: request_id=req-startup-test status=401 model=- backend=-"
              + " tenant=- reason=\"" + refusedReason(refused.body()) + "\""));
    }
  }

  /** The message of an OpenAI error body. */
  private static String refusedReason(String body) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"message\"\\s*:\\s*\"([^\"]*)\"")
        .matcher(body);
    assertThat(m.find()).as(body).isTrue();
    return m.group(1);
  }
}
