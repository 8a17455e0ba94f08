package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /v1/models} and {@code model_not_found} over real HTTP: a gateway whose backend
 * {@code sim} is a simulator listing two models, and whose backend {@code down} refuses
 * connections.
 */
@ExtendWith(OutputCaptureExtension.class)
class ModelsApiTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String HI = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
  private static final String CONFIG = """
      backends:
        sim: {url: "%s"}
        down:
          url: http://127.0.0.1:1/v1
          timeouts: {connect: 1s}
      models:
        - {name: chat, backend: sim}
        - {name: gpt-4o-mini, backend: sim}
      """;

  private static SimServer sim;
  private static TestGateway gateway;
  /** Listed only by the test of a failing list, so that its first fetches happen there. */
  private static TestGateway unlisted;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults().withModels(List.of("any-model", "other-model")));
    gateway = TestGateway.start(CONFIG.formatted(sim.baseUrl()), Map.of());
    unlisted = TestGateway.start(CONFIG.formatted(sim.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    unlisted.close();
    gateway.close();
    sim.close();
  }

  @Test
  void listsEachBackendsOwnModelsAsBackendSlashModel() {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(ids(gateway, TestGateway.KEY))
            .containsExactly("chat", "gpt-4o-mini", "sim/any-model", "sim/other-model"));
    JsonNode entry = find(list(gateway, TestGateway.KEY), "sim/any-model");
    assertThat(entry.path("owned_by").asString()).isEqualTo("sim");
    assertThat(entry.path("modelway").path("source").asString()).isEqualTo("backend");
    assertThat(entry.path("modelway").path("stale").asBoolean(true)).isFalse();
    assertThat(find(list(gateway, TestGateway.KEY), "chat").path("owned_by").asString())
        .isEqualTo("modelway");
  }

  @Test
  void aBackendWhoseListFailsIsLeftOutWithOneWarningNotAnError(CapturedOutput output) {
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = unlisted.get("/v1/models");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(ids(JSON.readTree(r.body()))).noneMatch(id -> id.startsWith("down/"))
          .contains("chat");
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(output.getOut()).contains("backend down: could not fetch its model list"));
    unlisted.get("/v1/models");
    // Retried no sooner than 30 s after a failure: one line for all those listings.
    assertThat(output.getOut().split("backend down: could not fetch", -1)).hasSize(2);
  }

  @Test
  void aKeySeesOnlyTheModelsItAndItsPlanMayCall() {
    await().atMost(Duration.ofSeconds(10)).until(() ->
        ids(gateway, TestGateway.KEY).contains("sim/any-model"));
    String limited = keyOf("mine", null, "chat", "sim/any-model");
    assertThat(ids(gateway, limited)).containsExactly("chat", "sim/any-model");

    admin("/admin/v1/plans", "{\"id\":\"only-other\",\"models\":[\"sim/other-model\"]}");
    String planned = keyOf("planned", "only-other");
    assertThat(ids(gateway, planned)).containsExactly("sim/other-model");
    assertThat(gateway.call("GET", "/v1/models/chat", planned, null).statusCode())
        .isEqualTo(404);
  }

  @Test
  void getsAnyBackendSlashModelTheChatEndpointAccepts() {
    HttpResponse<String> chat = gateway.post("/v1/chat/completions",
        "{\"model\":\"sim/never-listed\"," + HI + "}");
    assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
    HttpResponse<String> one = gateway.get("/v1/models/sim/never-listed");
    assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
    JsonNode model = JSON.readTree(one.body());
    assertThat(model.path("id").asString()).isEqualTo("sim/never-listed");
    assertThat(model.path("owned_by").asString()).isEqualTo("sim");
  }

  @Test
  void aTypoIsAnsweredWithTheClosestNames() {
    assertThat(notFound(chat(TestGateway.KEY, "gpt-4o-mni"))).contains("Did you mean 'gpt-4o-mini'");
    assertThat(notFound(chat(TestGateway.KEY, "smi/any-model")))
        .contains("Did you mean 'sim/any-model'");
    assertThat(notFound(gateway.get("/v1/models/chta"))).contains("Did you mean 'chat'");
  }

  @Test
  void aBareNameIsAnsweredWithItsBackendSlashModelForm() {
    assertThat(notFound(chat(TestGateway.KEY, "any-model")))
        .contains("called as BACKEND/MODEL", "'sim/any-model'");
  }

  @Test
  void hintsNameNoModelTheKeyMayNotCall() {
    String limited = keyOf("hints", null, "gpt-4o-mini");
    String message = notFound(chat(limited, "chta"));
    assertThat(message).doesNotContain("'chat'", "BACKEND/MODEL");
    assertThat(notFound(chat(limited, "gpt-4o-mni"))).contains("Did you mean 'gpt-4o-mini'");
  }

  private static HttpResponse<String> chat(String key, String model) {
    return gateway.call("POST", "/v1/chat/completions", key,
        "{\"model\":\"" + model + "\"," + HI + "}");
  }

  /** The message of a 404 {@code model_not_found}. */
  private static String notFound(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
    JsonNode error = JSON.readTree(r.body()).path("error");
    assertThat(error.path("code").asString()).isEqualTo("model_not_found");
    return error.path("message").asString();
  }

  private static JsonNode list(TestGateway on, String key) {
    HttpResponse<String> r = on.call("GET", "/v1/models", key, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static List<String> ids(TestGateway on, String key) {
    return ids(list(on, key));
  }

  private static List<String> ids(JsonNode list) {
    List<String> ids = new ArrayList<>();
    list.path("data").forEach(m -> ids.add(m.path("id").asString()));
    return ids;
  }

  private static JsonNode find(JsonNode list, String id) {
    for (JsonNode m : list.path("data")) {
      if (m.path("id").asString().equals(id)) {
        return m;
      }
    }
    throw new AssertionError(id + " not in " + list);
  }

  private static JsonNode admin(String path, @Nullable String json) {
    HttpResponse<String> r = gateway.call("POST", path, TestGateway.KEY, json);
    assertThat(r.statusCode()).as(path + " " + r.body()).isBetween(200, 299);
    return JSON.readTree(r.body());
  }

  /** A key of a new tenant on {@code plan} (null: none), allowed {@code models} (empty: all). */
  private static String keyOf(String tenant, @Nullable String plan, String... models) {
    admin("/admin/v1/tenants", "{\"id\":\"" + tenant + "\""
        + (plan == null ? "" : ",\"plan\":\"" + plan + "\"") + "}");
    StringBuilder list = new StringBuilder();
    for (String model : models) {
      list.append(list.isEmpty() ? "" : ",").append('"').append(model).append('"');
    }
    return admin("/admin/v1/keys", "{\"tenant\":\"" + tenant + "\""
        + (models.length == 0 ? "" : ",\"models\":[" + list + "]") + "}").path("key").asString();
  }
}
