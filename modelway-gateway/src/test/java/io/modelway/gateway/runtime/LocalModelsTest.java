package io.modelway.gateway.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.TestGateway;
import io.modelway.gateway.registry.EchoRuntime;
import io.modelway.runtime.ModelHost;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.json.JsonMapper;

/** A worker's own models: its readiness follows them, and the admin API loads and unloads them. */
class LocalModelsTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String ADMIN = "admin-key-2";

  /** Loads run when the test says so, so the worker can be seen while a model loads. */
  private final BlockingQueue<Runnable> loads = new LinkedBlockingQueue<>();
  private ModelHost models;
  private ConfigurableApplicationContext worker;
  private String base;

  @BeforeEach
  void start(@TempDir Path dir) {
    models = new ModelHost(spec -> {
      if (spec.source().endsWith("broken.gguf")) {
        throw new IllegalArgumentException("not a GGUF file: " + spec.source());
      }
      return new EchoRuntime(spec.name(), "worker");
    }, loads::add, Clock.systemUTC(), Duration.ofSeconds(1));
    models.load(new ModelHost.ModelSpec("echo", "builtin:echo"));
    worker = GatewayRole.start(GatewayOptions.of(dir).withRole(GatewayOptions.Role.WORKER)
        .withEnvironment(Map.of("MODELWAY_ADMIN_KEY", ADMIN)::get).withModels(models));
    base = "http://127.0.0.1:" + GatewayRole.port(worker);
  }

  @AfterEach
  void stop() {
    worker.close();
    models.close();
  }

  private void runLoads() {
    Runnable load;
    while ((load = loads.poll()) != null) {
      load.run();
    }
  }

  private HttpResponse<String> get(String path) {
    return TestGateway.send(HttpRequest.newBuilder(URI.create(base + path)).build());
  }

  private HttpResponse<String> admin(String method, String path, String body) {
    return TestGateway.send(HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
        .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private HttpResponse<String> chat() {
    return TestGateway.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
  }

  @Test
  void isNotReadyUntilItsModelsAreLoaded() {
    HttpResponse<String> loading = get("/actuator/health");
    HttpResponse<String> readiness = get("/actuator/health/readiness");
    HttpResponse<String> early = chat();

    assertThat(loading.statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(loading.body()).path("status").asString()).isEqualTo("OUT_OF_SERVICE");
    assertThat(readiness.statusCode()).isEqualTo(503);
    assertThat(early.statusCode()).isEqualTo(503);
    assertThat(early.body()).contains("\"code\":\"model_unavailable\"", "loading");

    runLoads();
    assertThat(get("/actuator/health").statusCode()).isEqualTo(200);
    assertThat(get("/actuator/health/readiness").statusCode()).isEqualTo(200);
    assertThat(chat().statusCode()).isEqualTo(200);
    assertThat(get("/v1/models").body()).contains("\"id\":\"echo\"", "\"source\":\"local\"");
  }

  @Test
  void loadsAndUnloadsModelsThroughTheAdminApi() {
    runLoads();
    HttpResponse<String> accepted = admin("POST", "/admin/v1/models",
        "{\"id\":\"second\",\"source\":\"/models/second.gguf\"}");
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    assertThat(JSON.readTree(accepted.body()).path("state").asString()).isEqualTo("loading");
    runLoads();
    HttpResponse<String> ready = admin("GET", "/admin/v1/models/second", "");
    assertThat(JSON.readTree(ready.body()).path("state").asString()).isEqualTo("ready");

    HttpResponse<String> duplicate = admin("POST", "/admin/v1/models",
        "{\"id\":\"second\",\"source\":\"/models/second.gguf\"}");
    assertThat(duplicate.statusCode()).isEqualTo(409);

    HttpResponse<String> unloading = admin("DELETE", "/admin/v1/models/second", "");
    assertThat(unloading.statusCode()).isEqualTo(202);
    runLoads();
    assertThat(admin("GET", "/admin/v1/models/second", "").statusCode()).isEqualTo(404);
    assertThat(admin("DELETE", "/admin/v1/models/second", "").statusCode()).isEqualTo(404);
  }

  @Test
  void reportsAModelThatFailsToLoadAndStaysUp() {
    runLoads();
    admin("POST", "/admin/v1/models", "{\"id\":\"bad\",\"source\":\"/models/broken.gguf\"}");
    runLoads();

    HttpResponse<String> bad = admin("GET", "/admin/v1/models/bad", "");
    assertThat(JSON.readTree(bad.body()).path("state").asString()).isEqualTo("failed");
    assertThat(JSON.readTree(bad.body()).path("error").asString())
        .isEqualTo("not a GGUF file: /models/broken.gguf");
    assertThat(get("/actuator/health").statusCode()).isEqualTo(200);
    assertThat(chat().statusCode()).isEqualTo(200);
    assertThat(get("/v1/models").body()).doesNotContain("\"bad\"");
  }

  @Test
  void onlyAnAdminLearnsWhyAModelFailedAndReadsTheMetrics() {
    runLoads();
    admin("POST", "/admin/v1/models", "{\"id\":\"bad\",\"source\":\"/models/broken.gguf\"}");
    runLoads();

    HttpResponse<String> call = TestGateway.send(HttpRequest.newBuilder(
            URI.create(base + "/v1/chat/completions")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"bad\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
    assertThat(call.statusCode()).isEqualTo(503);
    assertThat(call.body()).contains("failed").doesNotContain("broken.gguf");

    HttpResponse<String> anonymous = get("/actuator/health");
    assertThat(JSON.readTree(anonymous.body()).propertyNames()).containsOnly("status", "groups");
    assertThat(anonymous.body()).doesNotContain("broken.gguf");
    assertThat(admin("GET", "/actuator/health", "").body())
        .contains("failed: not a GGUF file: /models/broken.gguf");

    assertThat(get("/actuator/prometheus").statusCode()).isEqualTo(401);
    assertThat(admin("GET", "/actuator/prometheus", "").statusCode()).isEqualTo(200);
  }

  @Test
  void theAdminApiNeedsTheAdminKeyAndAValidBody() {
    HttpResponse<String> anonymous = TestGateway.send(HttpRequest.newBuilder(
        URI.create(base + "/admin/v1/models")).build());
    assertThat(anonymous.statusCode()).isEqualTo(401);

    for (String bad : new String[] {"{", "[]", "{\"id\":\"x\"}", "{\"source\":\"/a.gguf\"}",
        "{\"id\":\"\",\"source\":\"/a.gguf\"}"}) {
      HttpResponse<String> response = admin("POST", "/admin/v1/models", bad);
      assertThat(response.statusCode()).as(bad).isEqualTo(400);
      assertThat(response.body()).as(bad).contains("\"type\":\"invalid_request_error\"");
    }
  }
}
