package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.ConnectionPools;
import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.ConfigLoader;
import io.modelway.gateway.registry.InMemoryRegistry;
import io.modelway.gateway.registry.Instance;
import io.modelway.gateway.registry.Registry;
import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import io.modelway.sim.ChaosMode;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** Pools over real simulated servers, with the clock of the breakers in the test's hands. */
class InstancePoolsTest {
  private static final ConnectionPools CONNECTIONS = ConnectionPools.create(64);
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final TestClock clock = new TestClock();
  private final List<SimServer> sims = new ArrayList<>();
  private InstancePools pools;

  @AfterAll
  static void closeConnections() {
    CONNECTIONS.close();
  }

  @AfterEach
  void stop() {
    if (pools != null) {
      pools.close();
    }
    sims.forEach(SimServer::close);
  }

  private SimServer sim(SimOptions options) {
    SimServer sim = SimServer.start(options);
    sims.add(sim);
    return sim;
  }

  private Catalog catalog(String yaml) {
    return Catalog.build(ConfigLoader.parse("test.yaml", yaml.getBytes(StandardCharsets.UTF_8)),
        name -> null, CONNECTIONS.clients());
  }

  private InstancePools pools(Catalog catalog, Optional<Registry> registry) {
    pools = new InstancePools(() -> catalog, registry, CONNECTIONS.clients(), Optional.empty(),
        clock, System::nanoTime, new Random(1), new SimpleMeterRegistry());
    return pools;
  }

  /** A catalog whose model {@code chat} is a round-robin pool of {@code sims}, probed at /health. */
  private Catalog roundRobin(SimServer... servers) {
    StringBuilder yaml = new StringBuilder("backends:\n");
    StringBuilder pool = new StringBuilder();
    for (int i = 0; i < servers.length; i++) {
      String name = "s" + i;
      yaml.append("  ").append(name).append(": {url: '").append(servers[i].baseUrl())
          .append("', health-check: {path: /health}}\n");
      pool.append(i == 0 ? "" : ", ").append("{backend: ").append(name).append("}");
    }
    yaml.append("models:\n  - {name: chat, backends: [").append(pool)
        .append("], routing: {policy: round-robin}}\n");
    return catalog(yaml.toString());
  }

  private static String key(int index, SimServer sim) {
    return "backend:s" + index + "@" + sim.baseUrl();
  }

  private InstanceHealth health(String key) {
    return pools.member(key).orElseThrow().health;
  }

  /** One unstreamed chat call; its status (200 or the error's). */
  private static int chat(Backend backend, String content) {
    byte[] body = ("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content
        + "\"}]}").getBytes(StandardCharsets.UTF_8);
    try {
      backend.send(new BackendCall(Endpoint.CHAT_COMPLETIONS, body, false, "req-test"))
          .flatMap(answer -> answer.body().collect(ByteArrayOutputStream::new,
              (out, chunk) -> out.writeBytes(chunk)))
          .block(Duration.ofSeconds(10));
      return 200;
    } catch (OpenAiException e) {
      return e.status();
    }
  }

  private static int chat(Backend backend) {
    return chat(backend, "hi");
  }

  @Test
  void ejectsAFailingInstanceAndReAdmitsItThroughTrialCallsOnceItRecovers() {
    SimServer a = sim(SimOptions.defaults());
    SimServer b = sim(SimOptions.defaults());
    Catalog catalog = roundRobin(a, b);
    pools(catalog, Optional.empty());
    Backend chat = pools.backendFor(catalog.pool("chat").orElseThrow());
    for (int i = 0; i < 4; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).isEqualTo(2);

    b.switchChaosMode(ChaosMode.FAIL);
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 2 * InstanceHealth.CONSECUTIVE_FAILURES; i++) {
      statuses.add(chat(chat));
    }
    // Each call b failed was retried on a: the caller saw none of the failures.
    assertThat(statuses).containsOnly(200);
    assertThat(b.stats().injectedErrors()).isEqualTo(InstanceHealth.CONSECUTIVE_FAILURES);
    assertThat(health(key(1, b)).state()).isEqualTo(State.OPEN);

    long failedAt = b.stats().requests();
    for (int i = 0; i < 10; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).as("no call to the ejected instance").isEqualTo(failedAt);

    b.switchChaosMode(ChaosMode.NORMAL);
    clock.advance(InstanceHealth.BASE_EJECTION);
    pools.tick();
    assertThat(health(key(1, b)).state()).isEqualTo(State.HALF_OPEN);
    for (int i = 0; i < InstanceHealth.TRIAL_CALLS; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).as("the trial calls").isEqualTo(failedAt + InstanceHealth.TRIAL_CALLS);
    assertThat(health(key(1, b)).state()).isEqualTo(State.CLOSED);

    clock.advance(InstanceHealth.SLOW_START);
    long before = b.stats().requests();
    for (int i = 0; i < 4; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).as("back in rotation").isEqualTo(before + 2);
  }

  @Test
  void anInstanceThatFailsItsProbeGetsNoCallsUntilItAnswersAgain() {
    SimServer a = sim(SimOptions.defaults());
    SimServer b = sim(SimOptions.defaults());
    Catalog catalog = roundRobin(a, b);
    pools(catalog, Optional.empty());
    Backend chat = pools.backendFor(catalog.pool("chat").orElseThrow());
    assertThat(chat(chat)).isEqualTo(200);

    b.switchChaosMode(ChaosMode.FAIL); // its /health answers 503
    clock.advance(InstanceHealth.RECENT_SUCCESS); // its last call, if it had it, is long past
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      pools.tick(); // probes again once its interval passed: out after a few failures in a row
      return !health(key(1, b)).probeUp();
    });
    assertThat(health(key(1, b)).probeFailures()).isEqualTo(InstanceHealth.PROBE_FAILURES);
    long before = b.stats().requests();
    for (int i = 0; i < 6; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).isEqualTo(before);

    b.switchChaosMode(ChaosMode.NORMAL);
    await().atMost(Duration.ofSeconds(5)).until(() -> {
      pools.tick(); // probes again once its interval passed
      return health(key(1, b)).probeUp();
    });
    for (int i = 0; i < 4; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(b.stats().requests()).isEqualTo(before + 2);
  }

  @Test
  void aCallThatCannotConnectGoesToAnotherInstanceAndEjectsTheUnreachableOne() {
    SimServer a = sim(SimOptions.defaults());
    SimServer dead = sim(SimOptions.defaults());
    Catalog catalog = roundRobin(dead, a);
    dead.switchChaosMode(ChaosMode.DIE); // stops listening, as a killed process
    pools(catalog, Optional.empty());
    Backend chat = pools.backendFor(catalog.pool("chat").orElseThrow());
    for (int i = 0; i < 6; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    assertThat(a.stats().requests()).isEqualTo(6);
    assertThat(health(key(0, dead)).state()).isEqualTo(State.OPEN);
  }

  @Test
  void clientErrorsDoNotEjectAnInstance() {
    SimServer a = sim(SimOptions.defaults());
    SimServer tiny = sim(SimOptions.defaults().withKvCacheBlocks(2)); // long prompts get a 400
    Catalog catalog = roundRobin(a, tiny);
    pools(catalog, Optional.empty());
    Backend chat = pools.backendFor(catalog.pool("chat").orElseThrow());
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < 4 * InstanceHealth.CONSECUTIVE_FAILURES; i++) {
      statuses.add(chat(chat, "x".repeat(400)));
    }
    assertThat(statuses).containsOnly(200, 400);
    assertThat(health(key(1, tiny)).state()).isEqualTo(State.CLOSED);
  }

  @Test
  void registeredWorkersJoinAConfiguredPoolAndAreSentThePublicModelName() throws Exception {
    SimServer configured = sim(SimOptions.defaults());
    SimServer worker = sim(SimOptions.defaults());
    Catalog catalog = catalog("""
        backends:
          local: {url: '%s'}
        models:
          - {name: chat, backend: local, upstream-model: upstream-chat, routing: {policy: round-robin}}
        """.formatted(configured.baseUrl()));
    InMemoryRegistry registry = new InMemoryRegistry(Duration.ofSeconds(10), clock);
    pools(catalog, Optional.of(registry));
    Catalog.Pool pool = catalog.pool("chat").orElseThrow();
    assertThat(pools.backendFor(pool)).as("alone: called directly")
        .isInstanceOf(OpenAiHttpBackend.class);

    registry.renew(new Registry.Registration("w1",
        URI.create("http://127.0.0.1:" + worker.port()),
        List.of(new Instance.ServedModel("chat", "ready")), Instance.Load.NONE));
    Backend chat = pools.backendFor(pool);
    byte[] body = "{\"model\":\"upstream-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
        .getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 4; i++) {
      chat.send(new BackendCall(Endpoint.CHAT_COMPLETIONS, body, false, "r"))
          .flatMap(answer -> answer.body().then()).block(Duration.ofSeconds(10));
    }
    assertThat(configured.stats().requests()).isEqualTo(2);
    assertThat(worker.stats().requests()).isEqualTo(2);
    assertThat(lastModel(configured)).isEqualTo("upstream-chat");
    assertThat(lastModel(worker)).isEqualTo("chat");
  }

  private static String lastModel(SimServer sim) {
    String described = io.modelway.gateway.TestGateway.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + sim.port() + "/sim/last-request")).build()).body();
    return JSON.readTree(JSON.readTree(described).path("body").asString()).path("model").asString();
  }

  /**
   * Guards issue 13 item 13: on two saturated cores, under load, every instance of a pool was
   * taken out by late probes (timeout 500 ms), four times each. Here every core is kept busy
   * while a caller calls a pool of three healthy sims whose probes have a tenth of that timeout:
   * no instance is taken out. Then the same without calls, where only the probes judge:
   * measured and printed to the test's output, not asserted.
   */
  @Test
  void probesOnASaturatedMachineTakeNoHealthyInstanceOutWhileCallsSucceed() throws Exception {
    SimServer[] servers = {sim(SimOptions.defaults()), sim(SimOptions.defaults()),
        sim(SimOptions.defaults())};
    StringBuilder yaml = new StringBuilder("backends:\n");
    for (int i = 0; i < servers.length; i++) {
      yaml.append("  s").append(i).append(": {url: '").append(servers[i].baseUrl())
          .append("', health-check: {path: /health, interval: 200ms, timeout: 50ms}}\n");
    }
    yaml.append("models:\n  - {name: chat, backends: [{backend: s0}, {backend: s1}, {backend: s2}],"
        + " routing: {policy: round-robin}}\n");
    Catalog catalog = catalog(yaml.toString());
    pools = new InstancePools(() -> catalog, Optional.empty(), CONNECTIONS.clients(),
        Optional.empty(), Clock.systemUTC(), System::nanoTime, new Random(1),
        new SimpleMeterRegistry());
    Backend chat = pools.backendFor(catalog.pool("chat").orElseThrow());
    pools.start();
    for (int i = 0; i < 6; i++) {
      assertThat(chat(chat)).isEqualTo(200);
    }
    List<InstanceHealth> healths = new ArrayList<>();
    for (int i = 0; i < servers.length; i++) {
      healths.add(health(key(i, servers[i])));
    }

    AtomicBoolean busy = new AtomicBoolean(true);
    List<Thread> burners = new ArrayList<>();
    for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
      Thread t = new Thread(() -> {
        double x = 1;
        while (busy.get()) {
          x = Math.sqrt(x + System.nanoTime() % 7); // work, not a spin-wait hint
        }
        sink = x;
      }, "burner-" + i);
      t.setDaemon(true);
      burners.add(t);
    }
    burners.forEach(Thread::start);
    int calls = 0;
    long[] withCalls;
    long[] probesOnly;
    try {
      // About ten probes of each instance, with calls going on.
      long[] before = count(healths);
      long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < until) {
        assertThat(chat(chat)).isEqualTo(200);
        calls++;
      }
      long[] after = count(healths);
      withCalls = new long[] {after[0] - before[0], after[1] - before[1], after[2] - before[2]};
      // As many without calls.
      until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      long[] end = count(healths);
      probesOnly = new long[] {end[0] - after[0], end[1] - after[1], end[2] - after[2]};
    } finally {
      busy.set(false);
      for (Thread t : burners) {
        t.join();
      }
    }
    System.out.printf("saturated, %d calls: %d of %d probes failed, %d instances taken out by"
        + " probes; then no calls: %d of %d probes failed, %d taken out%n", calls, withCalls[0],
        withCalls[2], withCalls[1], probesOnly[0], probesOnly[2], probesOnly[1]);
    assertThat(withCalls[2]).as("probes ran meanwhile").isGreaterThanOrEqualTo(servers.length);
    assertThat(withCalls[1]).as("healthy instances taken out by late probes while %d calls"
        + " succeeded (%d probes failed)", calls, withCalls[0]).isZero();
  }

  private static volatile double sink;

  /** Probe failures, probe ejections and probes, summed over {@code healths}. */
  private static long[] count(List<InstanceHealth> healths) {
    long[] sum = new long[3];
    for (InstanceHealth h : healths) {
      sum[0] += h.probeFailures();
      sum[1] += h.probeEjections();
      sum[2] += h.probes();
    }
    return sum;
  }
}
