package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Issue 5's failover with real processes: a gateway in front of a pool of three {@code modelway
 * sim} processes, one of them killed with SIGKILL under load. No unstreamed call fails (a call
 * cut by the kill is retried on another instance before a byte of it reached the client), the
 * streams that were mid-answer on the killed sim are continued on another one and read exactly as
 * the uncut answer, and the gateway stops sending calls to the dead instance.
 */
class FailoverProcessTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private static final String ADMIN = "admin-key-failover-test";
  private static final int SIMS = 3;
  /** Two streams per sim: least-outstanding spreads streams opened one after another evenly. */
  private static final int STREAMS = 2 * SIMS;
  private static final int LOAD_THREADS = 6;
  /** Tokens a stream must have delivered, on every stream, before the kill. */
  private static final int TOKENS_BEFORE_KILL = 3;
  /** Unstreamed calls that must complete before the kill, and again after it. */
  private static final int CALLS_BEFORE_KILL = 20;
  private static final int CALLS_AFTER_KILL = 60;
  private static final Pattern CALLS = Pattern.compile(
      "modelway_routing_calls_total\\{[^}]*instance=\"([^\"]+)\"[^}]*} ([0-9.eE+]+)");
  private static final Pattern BREAKER = Pattern.compile(
      "modelway_routing_breaker_state\\{[^}]*instance=\"([^\"]+)\"[^}]*} ([0-9.eE+]+)");

  @TempDir Path dir;
  private final List<ModelwayProcess> processes = new ArrayList<>();
  private final ExecutorService clients = Executors.newCachedThreadPool();
  private final AtomicBoolean loadRuns = new AtomicBoolean(true);
  private boolean passed;

  @AfterEach
  void stop() throws InterruptedException {
    loadRuns.set(false);
    clients.shutdownNow();
    clients.awaitTermination(30, TimeUnit.SECONDS);
    for (ModelwayProcess process : processes) {
      if (!passed) {
        System.out.println(process.output());
      }
      process.close();
    }
  }

  private ModelwayProcess start(String name, String... args) {
    ModelwayProcess process = ModelwayProcess.start(name, dir, Map.of("MODELWAY_ADMIN_KEY", ADMIN),
        args);
    processes.add(process);
    return process;
  }

  @ParameterizedTest(name = "routing: {0}")
  @ValueSource(strings = {"p2c-ewma", "round-robin"})
  void killingAnInstanceUnderLoadFailsNoCallAndContinuesItsStreamsElsewhere(String policy)
      throws Exception {
    // Three sims that answer alike (same seed): 100 tokens at 25 tokens/s, so a stream lasts
    // seconds and is surely mid-answer when its sim dies.
    List<String> sims = new ArrayList<>();
    List<ModelwayProcess> simProcesses = new ArrayList<>();
    for (int i = 1; i <= SIMS; i++) {
      int port = ModelwayProcess.freePort();
      sims.add("http://127.0.0.1:" + port);
      simProcesses.add(start("s" + i, "sim", "--host", "127.0.0.1", "--port",
          Integer.toString(port), "--tokens-per-second", "25", "--output-tokens", "100"));
    }
    StringBuilder config = new StringBuilder("backends:\n");
    for (int i = 1; i <= SIMS; i++) {
      config.append("  s").append(i).append(":\n")
          .append("    url: ").append(sims.get(i - 1)).append("/v1\n")
          .append("    health-check: {path: /health}\n");
    }
    config.append("""
        models:
          - name: chat
            backends: [{backend: s1}, {backend: s2}, {backend: s3}]
            routing: {policy: %s}
        """.formatted(policy));
    Path configFile = Files.writeString(dir.resolve("modelway.yaml"), config);
    int gatewayPort = ModelwayProcess.freePort();
    String gateway = "http://127.0.0.1:" + gatewayPort;
    ModelwayProcess gatewayProcess = start("gateway", "gateway", "--host", "127.0.0.1",
        "--port", Integer.toString(gatewayPort), "--data-dir", dir.resolve("gateway").toString(),
        "--config", configFile.toString());

    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
      for (ModelwayProcess p : processes) {
        if (!p.isAlive()) {
          throw new AssertionError(p.output());
        }
      }
      return answers(gateway + "/actuator/health")
          && sims.stream().allMatch(s -> answers(s + "/health"));
    });
    // A first call through the pool, so that nothing below waits on the gateway's warm-up.
    assertThat(HTTP.send(chat(gateway, "warm-up", false), HttpResponse.BodyHandlers.ofString())
        .statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> sims.stream().allMatch(s -> inflight(s) == 0));

    // Streams opened one after another, each until its first token; the sim that runs the most
    // of them is the one to kill (with round-robin or least-outstanding: two on each).
    List<Reader> streams = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      Reader stream = new Reader("stream-" + i);
      stream.open(gateway);
      streams.add(stream);
      clients.submit(stream);
    }
    List<Long> running = sims.stream().map(FailoverProcessTest::inflight).toList();
    assertThat(running.stream().mapToLong(Long::longValue).sum()).as("streams running")
        .isEqualTo(STREAMS);
    int victim = running.indexOf(running.stream().max(Long::compare).orElseThrow());
    String victimName = "s" + (victim + 1);
    long victimStreams = running.get(victim);
    List<String> survivors = new ArrayList<>(sims);
    survivors.remove(victim);

    // Unstreamed load, distinct prompts, never answered from the cache.
    AtomicInteger completed = new AtomicInteger();
    Queue<String> failures = new ConcurrentLinkedQueue<>();
    List<Future<?>> load = new ArrayList<>();
    for (int t = 0; t < LOAD_THREADS; t++) {
      int thread = t;
      load.add(clients.submit(() -> {
        for (int n = 0; loadRuns.get(); n++) {
          String prompt = "load " + thread + "-" + n;
          try {
            HttpResponse<String> r = HTTP.send(chat(gateway, prompt, false),
                HttpResponse.BodyHandlers.ofString());
            JsonNode choice = JSON.readTree(r.body()).path("choices").path(0);
            if (r.statusCode() != 200 || choice.path("message").path("content").asString("")
                .isEmpty() || !choice.path("finish_reason").isString()) {
              failures.add(prompt + ": " + r.statusCode() + " " + r.body());
            }
          } catch (IOException | RuntimeException e) {
            failures.add(prompt + ": " + e);
          }
          completed.incrementAndGet();
        }
        return null;
      }));
    }

    await().atMost(Duration.ofSeconds(30)).until(() -> completed.get() >= CALLS_BEFORE_KILL
        && streams.stream().allMatch(s -> s.tokens.get() >= TOKENS_BEFORE_KILL));
    assertThat(streams).as("streams still mid-answer at the kill").noneMatch(s -> s.done.get());
    simProcesses.get(victim).kill();
    int atKill = completed.get();

    // Every stream ends, those of the dead sim continued on another.
    await().atMost(Duration.ofSeconds(40))
        .until(() -> streams.stream().allMatch(s -> s.ended.get()));
    await().atMost(Duration.ofSeconds(30))
        .until(() -> completed.get() >= atKill + CALLS_AFTER_KILL);
    // The dead instance is out: its probe failed or its breaker opened, and while the load goes
    // on no further call is sent to it.
    await().atMost(Duration.ofSeconds(20)).until(() -> breaker(gateway, victimName) == 2
        || gatewayProcess.output()
            .contains("Instance backend " + victimName + " failed "));
    long[] window = {-1, -1};
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
      Map<String, Long> calls = routedCalls(gateway);
      long dead = calls.getOrDefault(victimName, 0L);
      long alive = calls.values().stream().mapToLong(Long::longValue).sum() - dead;
      if (dead != window[0]) {
        window[0] = dead;
        window[1] = alive;
        return false;
      }
      return alive - window[1] >= 30;
    });
    // And the survivors take the load.
    long[] survivorsBefore = survivors.stream().mapToLong(FailoverProcessTest::simRequests)
        .toArray();
    int now = completed.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> completed.get() >= now + 20);
    for (int i = 0; i < survivors.size(); i++) {
      assertThat(simRequests(survivors.get(i))).as("calls %s got later", survivors.get(i))
          .isGreaterThan(survivorsBefore[i]);
    }
    loadRuns.set(false);
    for (Future<?> f : load) {
      f.get(60, TimeUnit.SECONDS);
    }

    assertThat(failures).as("failed unstreamed calls of %d", completed.get()).isEmpty();
    Map<String, CompletableFuture<Answer>> references = new HashMap<>();
    for (Reader stream : streams) {
      references.put(stream.prompt, reference(survivors.get(0), stream.prompt));
    }
    int continued = 0;
    for (Reader stream : streams) {
      assertThat(stream.failure).as(stream.prompt).isNull();
      assertThat(stream.done).as(stream.prompt + " ends with [DONE]").isTrue();
      assertThat(stream.ids).as(stream.prompt + ": one id across the seam").hasSize(1);
      assertThat(stream.roles.get()).as(stream.prompt + ": one role").isEqualTo(1);
      assertThat(stream.finishReasons).as(stream.prompt).containsExactly("stop");
      Answer reference = references.get(stream.prompt).get(60, TimeUnit.SECONDS);
      assertThat(stream.text.toString()).as(stream.prompt + ": no span lost or repeated at a seam")
          .isEqualTo(reference.text());
      assertThat(stream.tokens.get()).as(stream.prompt + ": tokens").isEqualTo(reference.tokens());
      assertThat(stream.usages).as(stream.prompt + ": one usage chunk").hasSize(1);
      assertThat(stream.usages.get(0).path("completion_tokens").asInt())
          .as(stream.prompt + ": usage of the whole answer").isEqualTo(reference.tokens());
    }
    Matcher seams = Pattern.compile("Stream of call \\S+ cut after \\d+ tokens")
        .matcher(gatewayProcess.output());
    while (seams.find()) {
      continued++;
    }
    assertThat(continued).as("streams continued on another instance")
        .isGreaterThanOrEqualTo((int) victimStreams);
    System.out.printf("FailoverProcessTest (%s): %d unstreamed calls (%d after the kill),"
        + " %d streams (%d continued after the kill)%n", policy, completed.get(),
        completed.get() - atKill, streams.size(), continued);
    passed = true;
  }

  /** A stream through the gateway, read on its own thread: text, ids, roles, how it ended. */
  private final class Reader implements Callable<Void> {
    final String prompt;
    /** Written by the reading thread only; read once {@link #ended} is set. */
    final StringBuilder text = new StringBuilder();
    final Set<String> ids = ConcurrentHashMap.newKeySet();
    final List<String> finishReasons = new CopyOnWriteArrayList<>();
    final AtomicInteger tokens = new AtomicInteger();
    final AtomicInteger roles = new AtomicInteger();
    final List<JsonNode> usages = new CopyOnWriteArrayList<>();
    final AtomicBoolean done = new AtomicBoolean();
    final AtomicBoolean ended = new AtomicBoolean();
    volatile String failure;
    private Iterator<String> lines;

    Reader(String prompt) {
      this.prompt = prompt;
    }

    /** Sends the request and reads up to its first token. */
    void open(String gateway) throws Exception {
      HttpResponse<Stream<String>> r = HTTP.send(chat(gateway, prompt, true),
          HttpResponse.BodyHandlers.ofLines());
      assertThat(r.statusCode()).as(prompt).isEqualTo(200);
      lines = r.body().iterator();
      while (tokens.get() == 0 && lines.hasNext()) {
        line(lines.next());
      }
      assertThat(tokens.get()).as(prompt + ": first token").isPositive();
    }

    @Override
    public Void call() {
      try {
        while (lines.hasNext()) {
          line(lines.next());
        }
      } catch (RuntimeException e) {
        failure = e.toString();
      } finally {
        ended.set(true);
      }
      return null;
    }

    private void line(String line) {
      if (!line.startsWith("data: ")) {
        return;
      }
      String data = line.substring(6).trim();
      if (data.equals("[DONE]")) {
        done.set(true);
        return;
      }
      JsonNode chunk = JSON.readTree(data);
      if (chunk.has("error")) {
        failure = "error event: " + data;
        return;
      }
      ids.add(chunk.path("id").asString());
      if (chunk.path("usage").isObject()) {
        usages.add(chunk.path("usage"));
      }
      for (JsonNode choice : chunk.path("choices").values()) {
        JsonNode delta = choice.path("delta");
        if (delta.has("role")) {
          roles.incrementAndGet();
        }
        String content = delta.path("content").asString("");
        if (!content.isEmpty()) {
          text.append(content);
          tokens.incrementAndGet();
        }
        if (choice.path("finish_reason").isString()) {
          finishReasons.add(choice.path("finish_reason").asString());
        }
      }
    }
  }

  private static HttpRequest chat(String root, String prompt, boolean stream) {
    String body = "{\"model\":\"chat\",\"stream\":" + stream
        + (stream ? ",\"stream_options\":{\"include_usage\":true}"
            : ",\"max_tokens\":5")
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
    return HttpRequest.newBuilder(URI.create(root + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + ADMIN)
        // Every call must reach an instance, never the response cache.
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  /**
   * The whole answer a sim gives to a stream's prompt, asked directly and unstreamed: what the
   * client's stream must read, seam or not.
   */
  private static CompletableFuture<Answer> reference(String sim, String prompt) {
    return HTTP.sendAsync(HttpRequest.newBuilder(
                URI.create(sim + "/v1/chat/completions")).timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"chat\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")).build(),
            HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> {
          assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
          JsonNode answer = JSON.readTree(r.body());
          return new Answer(answer.path("choices").path(0).path("message").path("content")
              .asString(), answer.path("usage").path("completion_tokens").asInt());
        });
  }

  /** An answer's text and its length in tokens. */
  private record Answer(String text, int tokens) {}

  private static boolean answers(String url) {
    try {
      return get(url).statusCode() == 200;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .header("Authorization", "Bearer " + ADMIN).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The body of a GET that must answer 200. */
  private static String body(String url) {
    try {
      HttpResponse<String> r = get(url);
      assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
      return r.body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Calls a sim is answering now. */
  private static long inflight(String sim) {
    return JSON.readTree(body(sim + "/sim/stats")).path("inflight").asLong();
  }

  /** Generation requests a sim has received. */
  private static long simRequests(String sim) {
    return JSON.readTree(body(sim + "/sim/stats")).path("requests").asLong();
  }

  /** Calls the gateway sent to each instance of its pools, by instance. */
  private static Map<String, Long> routedCalls(String gateway) {
    Map<String, Long> calls = new HashMap<>();
    Matcher m = CALLS.matcher(body(gateway + "/actuator/prometheus"));
    while (m.find()) {
      calls.merge(m.group(1), (long) Double.parseDouble(m.group(2)), Long::sum);
    }
    return calls;
  }

  /** An instance's breaker as the gateway reports it: 0 closed, 1 on trial, 2 ejected. */
  private static int breaker(String gateway, String instance) {
    Matcher m = BREAKER.matcher(body(gateway + "/actuator/prometheus"));
    while (m.find()) {
      if (m.group(1).equals(instance)) {
        return (int) Double.parseDouble(m.group(2));
      }
    }
    return -1;
  }
}
