package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.TestGateway;
import io.modelway.sim.ChaosMode;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Client → gateway → a pool of three simulated servers, one of which dies and comes back. */
class PoolFailoverTest {
  private static final String CHAT =
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private SimServer a;
  private SimServer b;
  private SimServer c;
  private TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    for (SimServer sim : new SimServer[] {a, b, c}) {
      if (sim != null) {
        sim.close();
      }
    }
  }

  private double calls(String instance) {
    return gateway.bean(MeterRegistry.class).find("modelway.routing.calls")
        .tag("instance", instance).counters().stream().mapToDouble(x -> x.count()).sum();
  }

  private InstanceHealth health(SimServer sim, String name) {
    return gateway.bean(InstancePools.class).member("backend:" + name + "@" + sim.baseUrl())
        .orElseThrow().health;
  }

  @Test
  void callsToADeadInstanceGoElsewhereAndNoUnstreamedCallFails() {
    a = SimServer.start(SimOptions.defaults());
    b = SimServer.start(SimOptions.defaults());
    c = SimServer.start(SimOptions.defaults());
    int cPort = c.port();
    gateway = TestGateway.start("""
        backends:
          a: {url: '%s', health-check: {path: /health}}
          b: {url: '%s', health-check: {path: /health}}
          c: {url: '%s', health-check: {path: /health}}
        models:
          - name: chat
            backends: [{backend: a}, {backend: b}, {backend: c}]
            routing: {policy: round-robin}
        """.formatted(a.baseUrl(), b.baseUrl(), c.baseUrl()), Map.of());
    for (int i = 0; i < 6; i++) {
      assertThat(gateway.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
    }
    assertThat(List.of(a, b, c)).allSatisfy(s -> assertThat(s.stats().requests()).isEqualTo(2));

    c.switchChaosMode(ChaosMode.DIE); // drops its connections and stops listening
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() -> {
      HttpResponse<String> r = gateway.post("/v1/chat/completions", CHAT);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      return !health(c, "c").admits(new Random());
    });
    double chosen = calls("c");
    for (int i = 0; i < 30; i++) {
      assertThat(gateway.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
    }
    assertThat(calls("c")).as("calls routed to the dead instance").isEqualTo(chosen);

    // It comes back on the same port: the probe sees it, trial calls re-admit it.
    c.close();
    c = SimServer.start(SimOptions.defaults().withPort(cPort));
    await().atMost(Duration.ofSeconds(15)).until(() -> {
      assertThat(gateway.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
      return c.stats().requests() > 0;
    });
  }
}
