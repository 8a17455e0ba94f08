package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.Environment;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What {@code /actuator} shows without a key, with a member's and with a platform admin's
 * (issue 13, item 11), and the two ways to open the metrics to a scraper. Each test has a
 * gateway of its own: closing one releases Reactor Netty's global resources under the others.
 */
class ActuatorAccessTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private static String member(TestGateway gateway) {
    return JSON.readTree(gateway.post("/admin/v1/keys", "{\"tenant\":\"admin\"}").body())
        .path("key").asString();
  }

  private static HttpResponse<String> get(String base, String path, @Nullable String key) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return TestGateway.send(request.build());
  }

  @Test
  void healthShowsItsStatusAloneToAnyoneButAPlatformAdmin() {
    try (TestGateway gateway = TestGateway.start("models: []\n", Map.of())) {
      String member = member(gateway);
      String base = gateway.url("");
      for (String key : new String[] {null, member, "mw-not-a-key"}) {
        HttpResponse<String> health = get(base, "/actuator/health", key);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(health.body()).propertyNames()).as(health.body())
            .doesNotContain("components", "details");
        assertThat(health.body()).doesNotContain(gateway.configFile().getParent().toString());
        assertThat(get(base, "/actuator/health/liveness", key).statusCode()).isEqualTo(200);
      }
      JsonNode details = JSON.readTree(get(base, "/actuator/health", TestGateway.KEY).body());
      assertThat(details.path("components").path("config").path("details").path("file")
          .asString()).isEqualTo(gateway.configFile().toString());
    }
  }

  /** Regression (found by HostileRequestsFuzzTest): an unknown health component had no body. */
  @Test
  void anUnknownActuatorPathAnswersInTheOpenAiErrorShape() {
    try (TestGateway gateway = TestGateway.start("models: []\n", Map.of())) {
      for (String key : new String[] {null, TestGateway.KEY}) {
        for (String path : new String[] {"/actuator/health/no-such-component",
            "/actuator/health/" + "x".repeat(300)}) {
          HttpResponse<String> answer = get(gateway.url(""), path, key);
          assertThat(answer.statusCode()).as(path).isEqualTo(404);
          assertThat(JSON.readTree(answer.body()).path("error").path("type").asString())
              .as(answer.body()).isEqualTo("invalid_request_error");
        }
      }
    }
  }

  @Test
  void prometheusNeedsAPlatformAdminsKey() {
    try (TestGateway gateway = TestGateway.start("models: []\n", Map.of())) {
      String member = member(gateway);
      String base = gateway.url("");
      HttpResponse<String> anonymous = get(base, "/actuator/prometheus", null);
      assertThat(anonymous.statusCode()).isEqualTo(401);
      assertThat(JSON.readTree(anonymous.body()).path("error").path("message").isString()).isTrue();
      assertThat(get(base, "/actuator/prometheus", member).statusCode()).isEqualTo(403);
      // Spellings the router matches to the same endpoint.
      for (String path : new String[] {"/actuator;x=1/prometheus", "/actuator/%70rometheus",
          "/actuator/prometheus;x", "/actuator//prometheus", "/actuator/prometheus/"}) {
        assertThat(get(base, path, null).statusCode()).as(path).isNotEqualTo(200);
      }
      assertThat(get(base, "/actuator;x=1/health", null).body()).doesNotContain("components");
      assertThat(get(base, "/actuator/prometheus", TestGateway.KEY).body())
          .contains("jvm_memory_used_bytes");
    }
  }

  @Test
  void prometheusCanBeLeftOpenWithHealthDetailsStillHidden() {
    try (TestGateway open = TestGateway.start("models: []\n",
        Map.of("MODELWAY_PROMETHEUS", "open"))) {
      assertThat(get(open.url(""), "/actuator/prometheus", null).statusCode()).isEqualTo(200);
      assertThat(get(open.url(""), "/actuator/health", null).body()).doesNotContain("components");
    }
  }

  @Test
  void aManagementPortServesTheActuatorWithEverythingAndTheApiPortNone() {
    try (TestGateway split = TestGateway.start("models: []\n",
        Map.of("MODELWAY_MANAGEMENT_PORT", "0"))) {
      String port = split.bean(Environment.class).getProperty("local.management.port");
      String management = "http://127.0.0.1:" + port;
      assertThat(get(management, "/actuator/health", null).body()).contains("components");
      assertThat(get(management, "/actuator/prometheus", null).statusCode()).isEqualTo(200);
      assertThat(get(split.url(""), "/actuator/prometheus", TestGateway.KEY).statusCode())
          .isEqualTo(404);
    }
  }
}
