package io.modelway.gateway.auth;

import static io.modelway.gateway.TestGateway.ok;
import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Who may do what to which key and plan: every key operation for every caller role against every
 * target role, the plans a tenant admin may see and attach, and the usage filters a caller may
 * use. Regression for a tenant admin that rotated a platform admin key of its tenant and so
 * received a platform admin secret.
 */
class AdminPrivilegesTest {
  private static final List<String> ROLES = List.of("member", "tenant_admin", "platform_admin");
  private static SimServer sim;
  private static TestGateway gateway;
  /** A key of each role in tenant {@code t}, by role. */
  private static Map<String, String> callers;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
    ok(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"t\"}"));
    ok(call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"other\"}"));
    callers = Map.of("member", issue("t", "member").path("key").asString(),
        "tenant_admin", issue("t", "tenant_admin").path("key").asString(),
        "platform_admin", issue("t", "platform_admin").path("key").asString());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  private static HttpResponse<String> call(String method, String path, String key,
      @Nullable String body) {
    return gateway.call(method, path, key, body);
  }

  /** A key of {@code role} in {@code tenant}, issued by the platform admin. */
  private static JsonNode issue(String tenant, String role) {
    return ok(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"" + tenant + "\",\"role\":\"" + role + "\"}"));
  }

  private static int chat(String key) {
    return call("POST", "/v1/chat/completions", key,
        "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode();
  }

  private static boolean may(String caller, String target) {
    return !caller.equals("member") && ROLES.indexOf(caller) >= ROLES.indexOf(target);
  }

  @Test
  void noCallerRotatesRevokesOrChangesAKeyAboveItsOwnRole() {
    List<String> failures = new ArrayList<>();
    for (String caller : ROLES) {
      for (String target : ROLES) {
        for (String operation : List.of("rotate", "revoke", "plan")) {
          JsonNode victim = issue("t", target);
          String id = victim.path("id").asString();
          HttpResponse<String> answer = switch (operation) {
            case "rotate" -> call("POST", "/admin/v1/keys/" + id + "/rotate", callers.get(caller),
                null);
            case "revoke" -> call("POST", "/admin/v1/keys/" + id + "/revoke", callers.get(caller),
                null);
            default -> call("PATCH", "/admin/v1/keys/" + id, callers.get(caller),
                "{\"plan\":null}");
          };
          int expected = may(caller, target) ? (operation.equals("rotate") ? 201 : 200) : 403;
          if (answer.statusCode() != expected) {
            failures.add(caller + " " + operation + " " + target + ": " + answer.statusCode()
                + " " + answer.body());
          }
          if (expected == 403) {
            assertThat(answer.body()).doesNotContain("\"key\":\"mw-");
            assertThat(chat(victim.path("key").asString())).as("%s still works", target)
                .isEqualTo(200);
          }
        }
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void noCallerIssuesAKeyAboveItsOwnRole() {
    List<String> failures = new ArrayList<>();
    for (String caller : ROLES) {
      for (String role : ROLES) {
        HttpResponse<String> answer = call("POST", "/admin/v1/keys", callers.get(caller),
            "{\"role\":\"" + role + "\"}");
        // A tenant admin issues member keys only; a platform admin any.
        boolean allowed = caller.equals("platform_admin")
            || (caller.equals("tenant_admin") && role.equals("member"));
        if (answer.statusCode() != (allowed ? 201 : 403)) {
          failures.add(caller + " issues " + role + ": " + answer.statusCode());
        }
      }
    }
    assertThat(failures).isEmpty();
  }

  /** A sibling of the rotation escalation: a key limited to some models handing out all. */
  @Test
  void aCallerLimitedToSomeModelsHandsOutNoKeyBeyondThem() {
    String limited = ok(call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"t\",\"role\":\"tenant_admin\",\"models\":[\"chat\"]}"))
        .path("key").asString();
    JsonNode issued = ok(call("POST", "/admin/v1/keys", limited, "{}"));
    assertThat(issued.path("models").toString()).as("inherits the caller's list")
        .isEqualTo("[\"chat\"]");
    assertThat(call("POST", "/admin/v1/keys", limited, "{\"models\":[\"chat\",\"other\"]}")
        .statusCode()).isEqualTo(403);
    String unlimited = issue("t", "member").path("id").asString();
    HttpResponse<String> rotated = call("POST", "/admin/v1/keys/" + unlimited + "/rotate",
        limited, null);
    assertThat(rotated.statusCode()).isEqualTo(403);
    assertThat(rotated.body()).doesNotContain("\"key\":\"mw-");
    assertThat(call("POST", "/admin/v1/keys/" + issued.path("id").asString() + "/rotate",
        limited, null).statusCode()).isEqualTo(201);
  }

  @Test
  void aTenantAdminSeesAndAttachesOnlyThePlansOfferedToItsTenant() {
    String admin = callers.get("tenant_admin");
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"o-public\",\"offered_to\":\"all\"}"));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"o-mine\",\"offered_to\":[\"t\"]}"));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"o-theirs\",\"offered_to\":[\"other\"],\"cache\":{\"answer_price\":0}}"));
    ok(call("POST", "/admin/v1/plans", TestGateway.KEY, "{\"id\":\"o-private\"}"));
    assertThat(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"o-ghost\",\"offered_to\":[\"nobody\"]}").statusCode()).isEqualTo(404);
    assertThat(call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"o-bad\",\"offered_to\":\"some\"}").statusCode()).isEqualTo(400);

    JsonNode seen = ok(call("GET", "/admin/v1/plans", admin, null)).path("data");
    assertThat(seen).extracting(p -> p.path("id").asString())
        .contains("o-public", "o-mine").doesNotContain("o-theirs", "o-private");
    assertThat(seen.toString()).as("who else a plan is offered to").doesNotContain("offered_to");
    assertThat(call("GET", "/admin/v1/plans/o-theirs", admin, null).statusCode()).isEqualTo(404);
    assertThat(call("GET", "/admin/v1/plans/o-private", admin, null).statusCode()).isEqualTo(404);
    assertThat(ok(call("GET", "/admin/v1/plans/o-mine", TestGateway.KEY, null)).path("offered_to")
        .toString()).isEqualTo("[\"t\"]");

    assertThat(call("POST", "/admin/v1/keys", admin, "{\"plan\":\"o-theirs\"}").statusCode())
        .isEqualTo(404);
    assertThat(call("POST", "/admin/v1/keys", admin, "{\"plan\":\"o-private\"}").statusCode())
        .isEqualTo(404);
    String id = ok(call("POST", "/admin/v1/keys", admin, "{\"plan\":\"o-mine\"}")).path("id")
        .asString();
    assertThat(ok(call("PATCH", "/admin/v1/keys/" + id, admin, "{\"plan\":\"o-public\"}"))
        .path("plan").asString()).isEqualTo("o-public");
    assertThat(call("PATCH", "/admin/v1/keys/" + id, admin, "{\"plan\":\"o-theirs\"}")
        .statusCode()).isEqualTo(404);

    // A plan the platform admin put on a key stays there: the tenant admin cannot take it off.
    ok(call("PATCH", "/admin/v1/keys/" + id, TestGateway.KEY, "{\"plan\":\"o-private\"}"));
    assertThat(call("PATCH", "/admin/v1/keys/" + id, admin, "{\"plan\":null}").statusCode())
        .isEqualTo(404);

    // The tenant's own plan is its admin's to see and use, offered or not.
    ok(call("PATCH", "/admin/v1/tenants/other", TestGateway.KEY, "{\"plan\":\"o-private\"}"));
    String otherAdmin = issue("other", "tenant_admin").path("key").asString();
    assertThat(ok(call("GET", "/admin/v1/plans", otherAdmin, null)).path("data"))
        .extracting(p -> p.path("id").asString()).contains("o-private", "o-theirs", "o-public")
        .doesNotContain("o-mine");
    ok(call("POST", "/admin/v1/keys", otherAdmin, "{\"plan\":\"o-private\"}"));

    // Replacing a plan without "offered_to" keeps its offer.
    ok(call("PUT", "/admin/v1/plans/o-mine", TestGateway.KEY, "{\"requests_per_minute\":5}"));
    assertThat(call("GET", "/admin/v1/plans/o-mine", admin, null).statusCode()).isEqualTo(200);
    ok(call("PUT", "/admin/v1/plans/o-mine", TestGateway.KEY, "{\"offered_to\":null}"));
    assertThat(call("GET", "/admin/v1/plans/o-mine", admin, null).statusCode()).isEqualTo(404);
  }

  /** Regression: a member's filter for another tenant or key was ignored, with a 200. */
  @Test
  void aUsageFilterTheCallerMayNotUseIsRefusedNotIgnored() {
    String member = callers.get("member");
    String otherKey = issue("other", "member").path("id").asString();
    assertThat(call("GET", "/admin/v1/usage?tenant=other", member, null).statusCode())
        .isEqualTo(404);
    assertThat(call("GET", "/admin/v1/usage?key=" + otherKey, member, null).statusCode())
        .isEqualTo(404);
    assertThat(call("GET", "/admin/v1/usage?tenant=other", callers.get("tenant_admin"), null)
        .statusCode()).isEqualTo(404);
    assertThat(call("GET", "/admin/v1/usage?tenant=t", member, null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/admin/v1/usage?tenant=other", callers.get("platform_admin"), null)
        .statusCode()).isEqualTo(200);
  }
}
