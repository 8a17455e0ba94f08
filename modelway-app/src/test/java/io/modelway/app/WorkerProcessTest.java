package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.runtime.llama.GgufWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A gateway and two workers as separate processes, as in microservices mode: workers register,
 * take traffic, and one killed with SIGKILL drops out of rotation and then out of the registry.
 */
class WorkerProcessTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();
  private static final String ADMIN = "admin-key-process-test";
  private static final Map<String, String> ENV = Map.of(
      "MODELWAY_CLUSTER_SECRET", "cluster-secret-process-test", "MODELWAY_ADMIN_KEY", ADMIN);
  private static final Pattern SERVED = Pattern.compile(
      "modelway_requests_seconds_count\\{[^}]*model=\"tiny\"[^}]*status=\"200\"[^}]*} (\\d+)");

  private final List<ModelwayProcess> processes = new ArrayList<>();
  private boolean passed;

  @AfterEach
  void stop(TestInfo test) throws InterruptedException {
    for (ModelwayProcess process : processes) {
      if (!passed) {
        System.out.println(process.output());
      }
      process.close();
    }
  }

  private static HttpResponse<String> get(String url, String adminKey) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (adminKey != null) {
      request.header("Authorization", "Bearer " + adminKey);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static boolean answers(String url) {
    try {
      return get(url, null).statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static HttpResponse<String> chat(String gateway) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + ADMIN)
        // Every call must reach a worker: the same deterministic question would be a cache hit.
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofString("""
            {"model":"tiny","temperature":0,"max_tokens":3,
             "messages":[{"role":"user","content":"hello"}]}""")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> instanceIds(String gateway) throws Exception {
    JsonNode data = JSON.readTree(get(gateway + "/admin/v1/instances", ADMIN).body()).path("data");
    List<String> ids = new ArrayList<>();
    data.forEach(i -> ids.add(i.path("id").asString()));
    return ids;
  }

  /** Calls of model tiny a worker answered with 200, from its own metrics. */
  private static long served(String worker) throws Exception {
    Matcher m = SERVED.matcher(get(worker + "/actuator/prometheus", ADMIN).body());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  private ModelwayProcess start(String name, Path dir, String... args) {
    ModelwayProcess process = ModelwayProcess.start(name, dir, ENV, args);
    processes.add(process);
    return process;
  }

  @Test
  void trafficSurvivesAWorkerKilledWithSigkillAndTheRegistryForgetsIt(@TempDir Path dir)
      throws Exception {
    Path tiny = GgufWriter.write(dir.resolve("tiny.gguf"), 11);
    int gatewayPort = ModelwayProcess.freePort();
    String gateway = "http://127.0.0.1:" + gatewayPort;
    start("gateway", dir, "gateway", "--host", "127.0.0.1", "--port", Integer.toString(gatewayPort),
        "--data-dir", dir.resolve("gateway").toString(), "--lease-ttl", "3s");
    List<String> workers = new ArrayList<>();
    List<ModelwayProcess> workerProcesses = new ArrayList<>();
    for (String id : List.of("w1", "w2")) {
      int port = ModelwayProcess.freePort();
      workers.add("http://127.0.0.1:" + port);
      workerProcesses.add(start(id, dir, "worker", "--host", "127.0.0.1",
          "--port", Integer.toString(port), "--data-dir", dir.resolve(id).toString(),
          "--gateway", gateway, "--worker-id", id, "--no-embedding-model",
          "--model", "tiny=" + tiny, "--slots", "2", "--context-size", "256"));
    }

    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250))
        .until(() -> answers(gateway + "/actuator/health")
            && answers(workers.get(0) + "/actuator/health")
            && answers(workers.get(1) + "/actuator/health"));
    await().atMost(Duration.ofSeconds(30)).until(() -> instanceIds(gateway).size() == 2);

    for (int i = 0; i < 30 && (served(workers.get(0)) == 0 || served(workers.get(1)) == 0); i++) {
      HttpResponse<String> answer = chat(gateway);
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }
    assertThat(served(workers.get(0))).as("calls answered by w1").isPositive();
    assertThat(served(workers.get(1))).as("calls answered by w2").isPositive();

    workerProcesses.get(0).kill();
    long before = served(workers.get(1));
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> answer = chat(gateway);
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }
    assertThat(served(workers.get(1)) - before).isEqualTo(10);

    await().atMost(Duration.ofSeconds(15)).until(() -> instanceIds(gateway).equals(List.of("w2")));
    passed = true;
  }
}
