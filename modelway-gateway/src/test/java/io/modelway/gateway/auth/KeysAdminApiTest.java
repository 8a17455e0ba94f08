package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The admin API for tenants and keys, under each role. */
class KeysAdminApiTest {
  private static SimServer sim;
  private static TestGateway gateway;
  private static String acmeAdmin;
  private static String betaKeyId;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
    assertThat(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"acme\",\"name\":\"Acme\"}")
        .statusCode()).isEqualTo(201);
    assertThat(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"beta\"}").statusCode())
        .isEqualTo(201);
    acmeAdmin = secret(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"acme\",\"role\":\"tenant_admin\",\"name\":\"acme admin\"}"));
    betaKeyId = json(call("POST", "/admin/v1/keys", TestGateway.KEY, "{\"tenant\":\"beta\"}"))
        .path("id").asString();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  static HttpResponse<String> call(String method, String path, String key, String body) {
    return gateway.call(method, path, key, body);
  }

  static JsonNode json(HttpResponse<String> response) {
    return TestGateway.ok(response);
  }

  static String secret(HttpResponse<String> response) {
    return json(response).path("key").asString();
  }

  private static int chat(String key) {
    return call("POST", "/v1/chat/completions", key,
        "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode();
  }

  @Test
  void issuesAKeyThatWorksAtOnceAndShowsItsSecretOnlyThen() {
    HttpResponse<String> issued = call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"acme\",\"name\":\"ci\",\"project\":\"web\",\"models\":[\"chat\"],\"expires_in\":\"30d\"}");
    JsonNode key = json(issued);
    assertThat(issued.statusCode()).isEqualTo(201);
    assertThat(key.path("key").asString()).startsWith("mw-");
    assertThat(key.path("role").asString()).isEqualTo("member");
    assertThat(key.path("status").asString()).isEqualTo("active");
    assertThat(chat(key.path("key").asString())).isEqualTo(200);

    String listing = call("GET", "/admin/v1/keys?tenant=acme", TestGateway.KEY, null).body();
    assertThat(listing).contains(key.path("id").asString(), key.path("prefix").asString())
        .doesNotContain(key.path("key").asString());
  }

  @Test
  void aRevokedKeyIsRefusedAtOnceAndARotatedOneKeepsWorkingForItsGrace() {
    JsonNode key = json(call("POST", "/admin/v1/keys", acmeAdmin, "{\"name\":\"temp\"}"));
    String id = key.path("id").asString();
    JsonNode rotated = json(call("POST", "/admin/v1/keys/" + id + "/rotate", acmeAdmin,
        "{\"grace\":\"1h\"}"));
    assertThat(rotated.path("replaces").asString()).isEqualTo(id);
    assertThat(chat(key.path("key").asString())).isEqualTo(200);
    assertThat(chat(rotated.path("key").asString())).isEqualTo(200);

    JsonNode revoked = json(call("POST", "/admin/v1/keys/" + id + "/revoke", acmeAdmin, null));
    assertThat(revoked.path("status").asString()).isEqualTo("revoked");
    assertThat(chat(key.path("key").asString())).isEqualTo(401);
  }

  @Test
  void aTenantAdminCannotReachAnotherTenantThroughAnyEndpoint() {
    List<HttpResponse<String>> attempts = List.of(
        call("GET", "/admin/v1/keys?tenant=beta", acmeAdmin, null),
        call("POST", "/admin/v1/keys", acmeAdmin, "{\"tenant\":\"beta\"}"),
        call("POST", "/admin/v1/keys/" + betaKeyId + "/revoke", acmeAdmin, null),
        call("POST", "/admin/v1/keys/" + betaKeyId + "/rotate", acmeAdmin, null));
    assertThat(attempts).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(404));

    assertThat(call("GET", "/admin/v1/keys", acmeAdmin, null).body()).doesNotContain(betaKeyId)
        .doesNotContain("\"tenant\":\"beta\"");
    assertThat(json(call("GET", "/admin/v1/tenants", acmeAdmin, null)).path("data"))
        .extracting(t -> t.path("id").asString()).containsExactly("acme");
    for (String[] adminOnly : new String[][] {{"POST", "/admin/v1/tenants"}, {"GET", "/admin/v1/audit"},
        {"GET", "/admin/v1/instances"}}) {
      assertThat(call(adminOnly[0], adminOnly[1], acmeAdmin, "{\"id\":\"x\"}").statusCode())
          .as(adminOnly[1]).isEqualTo(403);
    }
    HttpResponse<String> escalate = call("POST", "/admin/v1/keys", acmeAdmin,
        "{\"role\":\"platform_admin\"}");
    assertThat(escalate.statusCode()).isEqualTo(403);
    assertThat(json(call("GET", "/admin/v1/keys?tenant=beta", TestGateway.KEY, null)).path("data"))
        .extracting(k -> k.path("id").asString()).contains(betaKeyId);
  }

  @Test
  void membersAndStrangersGetNothing() {
    String member = secret(call("POST", "/admin/v1/keys", acmeAdmin, "{}"));
    for (String path : List.of("/admin/v1/keys", "/admin/v1/tenants", "/admin/v1/audit")) {
      assertThat(call("GET", path, member, null).statusCode()).as(path).isEqualTo(403);
      assertThat(call("GET", path, null, null).statusCode()).as(path).isEqualTo(401);
    }
  }

  @Test
  void everyChangeIsInTheAuditLog() {
    JsonNode audit = json(call("GET", "/admin/v1/audit?limit=500", TestGateway.KEY, null));
    assertThat(audit.path("data")).extracting(e -> e.path("action").asString())
        .contains("tenant.create", "key.create");
    assertThat(audit.path("data").get(audit.path("data").size() - 1).path("actor_key_id").asString())
        .isEqualTo("admin-env");
  }

  @Test
  void rejectsBadRequestsWith400() {
    for (String bad : new String[] {"{", "[]", "{\"role\":\"boss\"}", "{\"models\":\"chat\"}",
        "{\"expires_in\":\"soon\"}", "{\"expires_in\":\"-5m\"}", "{\"name\":\"\"}"}) {
      HttpResponse<String> r = call("POST", "/admin/v1/keys", TestGateway.KEY, bad);
      assertThat(r.statusCode()).as(bad).isEqualTo(400);
      assertThat(r.body()).as(bad).contains("\"type\":\"invalid_request_error\"");
    }
    assertThat(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"acme\"}").statusCode())
        .isEqualTo(409);
    assertThat(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"Not Valid\"}").statusCode())
        .isEqualTo(400);
  }
}
