package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/** Every call to the gateway's API needs a key of a tenant; the admin API a role. */
class GatewayAuthTest {
  private static final Principal ADMIN = new Principal("admin", "admin-env", Optional.empty(),
      Role.PLATFORM_ADMIN, Set.of(), Optional.empty(), Optional.empty());
  private static SimServer sim;
  private static TestGateway gateway;
  private static ApiKeys keys;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
          - {name: other, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
    keys = gateway.bean(ApiKeys.class);
    keys.createTenant("acme", "Acme", Optional.empty(), ADMIN);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  private static String issue(Set<String> models, Optional<Instant> expires) {
    String secret = keys.issue(new ApiKeys.NewKey("acme", Optional.empty(), "test", Role.MEMBER,
        models, expires, Optional.empty()), ADMIN).secret();
    gateway.bean(Authenticator.class).refresh();
    return secret;
  }

  private static HttpResponse<String> chat(String model, String authorization) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return TestGateway.send(request.build());
  }

  private static HttpResponse<String> get(String path, String secret) {
    return TestGateway.send(HttpRequest.newBuilder(URI.create(gateway.url(path)))
        .header("Authorization", "Bearer " + secret).build());
  }

  @Test
  void refusesCallsWithoutAValidKeyIn401OpenAiShape() {
    long before = sim.stats().requests();
    HttpResponse<String> none = chat("chat", null);
    HttpResponse<String> wrong = chat("chat", "Bearer mw-wrongwrongwrongwrongwrongwrongwr");
    HttpResponse<String> list = TestGateway.send(HttpRequest.newBuilder(
        URI.create(gateway.url("/v1/models"))).build());

    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("\"code\":\"missing_api_key\"", "\"type\":\"invalid_request_error\"");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("\"code\":\"invalid_api_key\"");
    assertThat(list.statusCode()).isEqualTo(401);
    assertThat(sim.stats().requests()).isEqualTo(before);
  }

  @Test
  void aTenantKeyCallsItsAllowedModelsOnly() {
    String secret = issue(Set.of("chat"), Optional.empty());

    assertThat(chat("chat", "Bearer " + secret).statusCode()).isEqualTo(200);
    HttpResponse<String> other = chat("other", "Bearer " + secret);
    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(other.body()).contains("\"code\":\"model_not_found\"");
    assertThat(get("/v1/models", secret).body()).contains("\"chat\"").doesNotContain("\"other\"");
    assertThat(get("/v1/models/other", secret).statusCode()).isEqualTo(404);
  }

  @Test
  void aRevokedOrExpiredKeyIsRefused() {
    String revoked = issue(Set.of(), Optional.empty());
    String expired = issue(Set.of(), Optional.of(Instant.now().minusSeconds(60)));
    assertThat(chat("chat", "Bearer " + revoked).statusCode()).isEqualTo(200);

    String id = keys.keys(Optional.of("acme")).stream()
        .filter(k -> revoked.startsWith(k.prefix()) && k.revokedAt().isEmpty() && k.expiresAt().isEmpty())
        .findFirst().orElseThrow().id();
    keys.revoke(id, ADMIN);
    gateway.bean(Authenticator.class).refresh();

    HttpResponse<String> afterRevoke = chat("chat", "Bearer " + revoked);
    assertThat(afterRevoke.statusCode()).isEqualTo(401);
    assertThat(afterRevoke.body()).contains("revoked");
    HttpResponse<String> late = chat("chat", "Bearer " + expired);
    assertThat(late.statusCode()).isEqualTo(401);
    assertThat(late.body()).contains("expired");
  }

  @Test
  void membersCannotUseTheAdminApi() {
    String member = issue(Set.of(), Optional.empty());
    HttpResponse<String> refused = get("/admin/v1/instances", member);
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(refused.body()).contains("\"code\":\"insufficient_role\"");
    assertThat(get("/admin/v1/instances", TestGateway.KEY).statusCode()).isEqualTo(200);
  }

  /**
   * Regression: a call refused before its body was read left the body on the kept-alive
   * connection, and the next request a client sent on it hung unread (seen in CI).
   */
  @Test
  void answersTheNextRequestOnAConnectionAfterACallRefusedBeforeItsBodyWasRead() throws Exception {
    URI uri = URI.create(gateway.url("/"));
    String body = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body
          + "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.KEY
          + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      String responses = new String(socket.getInputStream().readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8);
      assertThat(responses).startsWith("HTTP/1.1 401").contains("missing_api_key");
      assertThat(responses.indexOf("HTTP/1.1 200", 1)).as(responses).isPositive();
      assertThat(responses).contains("\"id\":\"chat\"");
    }
  }

  @Test
  void answersTheNextRequestOnAConnectionAfterAnErrorAnswer() throws Exception {
    URI uri = URI.create(gateway.url("/"));
    String body = "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
      socket.setSoTimeout(10_000);
      java.io.OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.KEY
          + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.write(("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.KEY
          + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      String responses = new String(socket.getInputStream().readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8);
      assertThat(responses).startsWith("HTTP/1.1 404");
      assertThat(responses.indexOf("HTTP/1.1 200", 1)).as(responses).isPositive();
    }
  }
}
