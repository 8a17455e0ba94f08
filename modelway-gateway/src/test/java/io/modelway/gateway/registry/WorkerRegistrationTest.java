package io.modelway.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.TestGateway;
import io.modelway.runtime.ModelHost;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.web.server.reactive.context.ReactiveWebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Workers register with a gateway over HTTP and the gateway routes to them. */
class WorkerRegistrationTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String SECRET = "cluster-secret-1";
  private static final String ADMIN = "admin-key-1";
  private static final Map<String, String> ENV = Map.of(
      "MODELWAY_CLUSTER_SECRET", SECRET, "MODELWAY_ADMIN_KEY", ADMIN);

  @TempDir Path dir;
  private final java.util.List<AutoCloseable> open = new java.util.ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private String startGateway(Duration lease) {
    ConfigurableApplicationContext gateway = GatewayRole.start(GatewayOptions.of(dir)
        .withRole(GatewayOptions.Role.GATEWAY).withEnvironment(ENV::get).withLeaseTtl(lease));
    open.add(gateway);
    return "http://127.0.0.1:" + GatewayRole.port(gateway);
  }

  /** A worker serving model "echo" that answers with {@code name}; registered with the gateway. */
  private record Worker(ConfigurableApplicationContext server, RegistrationAgent agent) {}

  private Worker startWorker(String gateway, String name) {
    ModelHost models = new ModelHost(spec -> new EchoRuntime(spec.name(), name), Runnable::run,
        Clock.systemUTC(), Duration.ofSeconds(1));
    models.load(new ModelHost.ModelSpec("echo", "builtin:echo"));
    ConfigurableApplicationContext server = GatewayRole.start(GatewayOptions.of(dir)
        .withRole(GatewayOptions.Role.WORKER).withEnvironment(ENV::get).withModels(models));
    RegistrationAgent agent = new RegistrationAgent(URI.create(gateway), SECRET, name,
        URI.create("http://127.0.0.1:" + GatewayRole.port(server)), models);
    agent.start();
    open.add(server);
    open.add(agent);
    return new Worker(server, agent);
  }

  private static HttpResponse<String> chat(String gateway) {
    return TestGateway.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + ADMIN)
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .build());
  }

  private static String answeredBy(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).path("choices").path(0).path("message").path("content")
        .asString();
  }

  private static JsonNode instances(String gateway) {
    HttpResponse<String> list = TestGateway.send(HttpRequest.newBuilder(
        URI.create(gateway + "/admin/v1/instances")).header("Authorization", "Bearer " + ADMIN).build());
    assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
    return JSON.readTree(list.body()).path("data");
  }

  @Test
  void routesToEveryRegisteredWorkerAndListsThemWithTheirHealth() {
    String gateway = startGateway(Duration.ofSeconds(10));
    startWorker(gateway, "worker-a");
    startWorker(gateway, "worker-b");
    await().atMost(Duration.ofSeconds(10)).until(() -> instances(gateway).size() == 2);

    Set<String> answered = new HashSet<>();
    for (int i = 0; i < 40 && answered.size() < 2; i++) {
      answered.add(answeredBy(chat(gateway)));
    }
    assertThat(answered).containsExactlyInAnyOrder("worker-a", "worker-b");

    JsonNode models = JSON.readTree(TestGateway.send(HttpRequest.newBuilder(
        URI.create(gateway + "/v1/models")).header("Authorization", "Bearer " + ADMIN).build())
        .body()).path("data");
    assertThat(models).hasSize(1);
    JsonNode echo = models.get(0);
    assertThat(echo.path("id").asString()).isEqualTo("echo");
    assertThat(echo.path("modelway").path("source").asString()).isEqualTo("workers");
    assertThat(echo.path("modelway").path("instances")).hasSize(2)
        .allSatisfy(i -> assertThat(i.path("health").asString()).isEqualTo("healthy"));

    JsonNode a = instances(gateway).get(0);
    assertThat(a.path("id").asString()).isEqualTo("worker-a");
    assertThat(a.path("address").asString()).startsWith("http://127.0.0.1:");
    assertThat(a.path("models").get(0).path("state").asString()).isEqualTo("ready");
    assertThat(a.path("load").path("slots").asInt()).isEqualTo(2);
    assertThat(a.path("lease_expires_at").asString()).isNotEmpty();
  }

  @Test
  void aWorkerThatStopsServingIsSkippedAndOneThatShutsDownIsGoneAtOnce() {
    String gateway = startGateway(Duration.ofSeconds(10));
    startWorker(gateway, "worker-a");
    Worker b = startWorker(gateway, "worker-b");
    await().atMost(Duration.ofSeconds(10)).until(() -> instances(gateway).size() == 2);

    // Its port refuses connections; its heartbeats go on. (Stopping the web server rather than
    // closing the context: a closing context disposes Reactor Netty's shared event loops, which
    // the other servers in this test JVM use.)
    ((ReactiveWebServerApplicationContext) b.server()).getWebServer().stop();
    // A graceful stop closes the listening port but may still answer on a connection the
    // gateway kept alive from before; once b has answered its last one, it gets no call again.
    await().atMost(Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream.range(0, 4)
        .allMatch(i -> answeredBy(chat(gateway)).equals("worker-a")));
    for (int i = 0; i < 20; i++) {
      assertThat(answeredBy(chat(gateway))).isEqualTo("worker-a");
    }
    // Listed as unreachable once a call or a probe could not connect to it.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(instances(gateway)).anySatisfy(i -> {
          assertThat(i.path("id").asString()).isEqualTo("worker-b");
          assertThat(i.path("health").asString()).isEqualTo("unreachable");
        }));

    b.agent().close(); // graceful shutdown deregisters
    assertThat(instances(gateway)).extracting(i -> i.path("id").asString())
        .containsExactly("worker-a");
    // Serving again, so that closing b's context shuts a running server down gracefully; with
    // its server already stopped, the shutdown phase would wait out its whole 30 s timeout.
    ((ReactiveWebServerApplicationContext) b.server()).getWebServer().start();
  }

  @Test
  void forgetsAWorkerWhoseHeartbeatsStopWhenItsLeaseRunsOut() {
    String gateway = startGateway(Duration.ofSeconds(1));
    Worker a = startWorker(gateway, "worker-a");
    await().atMost(Duration.ofSeconds(10)).until(() -> instances(gateway).size() == 1);

    a.agent().stopHeartbeats(); // as if the process froze or died: no deregistration
    await().atMost(Duration.ofSeconds(5)).until(() -> instances(gateway).isEmpty());
    assertThat(chat(gateway).statusCode()).isEqualTo(404);
  }

  @Test
  void registrationNeedsTheClusterSecret() {
    String gateway = startGateway(Duration.ofSeconds(10));
    String body = "{\"address\":\"http://127.0.0.1:9\",\"models\":[]}";
    HttpResponse<String> noSecret = TestGateway.send(HttpRequest.newBuilder(
            URI.create(gateway + "/internal/v1/instances/intruder"))
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    HttpResponse<String> wrongSecret = TestGateway.send(HttpRequest.newBuilder(
            URI.create(gateway + "/internal/v1/instances/intruder"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer guess")
        .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    HttpResponse<String> noAdminKey = TestGateway.send(HttpRequest.newBuilder(
        URI.create(gateway + "/admin/v1/instances")).build());

    assertThat(noSecret.statusCode()).isEqualTo(401);
    assertThat(noSecret.body()).contains("\"code\":\"missing_api_key\"", "MODELWAY_CLUSTER_SECRET");
    assertThat(wrongSecret.statusCode()).isEqualTo(401);
    assertThat(wrongSecret.body()).contains("\"code\":\"invalid_api_key\"");
    assertThat(noAdminKey.statusCode()).isEqualTo(401);
    assertThat(instances(gateway)).isEmpty();
  }

  @Test
  void registrationIsOffWhenTheGatewayHasNoSecret() {
    ConfigurableApplicationContext gateway = GatewayRole.start(GatewayOptions.of(dir)
        .withRole(GatewayOptions.Role.GATEWAY).withEnvironment(name -> null));
    open.add(gateway);
    HttpResponse<String> response = TestGateway.send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + GatewayRole.port(gateway) + "/internal/v1/instances/w"))
        .header("Authorization", "Bearer anything").header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString("{}")).build());

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(response.body()).contains("MODELWAY_CLUSTER_SECRET", "\"type\":\"permission_error\"");
  }

  @Test
  void rejectsABadRegistrationWithA400() {
    String gateway = startGateway(Duration.ofSeconds(10));
    for (String bad : new String[] {"not json", "[]", "{\"address\":\"ftp://x:1\",\"models\":[]}",
        "{\"address\":\"http://x:1\",\"models\":{}}",
        "{\"address\":\"http://x:1\",\"models\":[],\"load\":{\"slots\":-1}}"}) {
      HttpResponse<String> response = TestGateway.send(HttpRequest.newBuilder(
              URI.create(gateway + "/internal/v1/instances/w1"))
          .header("Authorization", "Bearer " + SECRET).header("Content-Type", "application/json")
          .PUT(HttpRequest.BodyPublishers.ofString(bad)).build());
      assertThat(response.statusCode()).as(bad).isEqualTo(400);
      assertThat(response.body()).as(bad).contains("\"type\":\"invalid_request_error\"");
    }
  }
}
