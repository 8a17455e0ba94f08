package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Bearer JWTs from an OIDC issuer, whose JWKS a local HTTP server publishes. */
class JwtAuthTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String ISSUER = "https://idp.example.test/realms/acme";
  private static RSAKey first;
  private static RSAKey second;
  private static final AtomicReference<JWKSet> published = new AtomicReference<>();
  private static HttpServer idp;
  private static SimServer sim;
  private static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    first = new RSAKeyGenerator(2048).keyID("k1").generate();
    second = new RSAKeyGenerator(2048).keyID("k2").generate();
    published.set(new JWKSet(first.toPublicJWK()));
    idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    idp.createContext("/certs", exchange -> {
      byte[] body = published.get().toString().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    idp.start();
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
        auth:
          jwt:
            issuer: "%s"
            jwks-url: "http://127.0.0.1:%d/certs"
            audience: modelway
            role-claim: roles
        """.formatted(sim.baseUrl(), ISSUER, idp.getAddress().getPort()), Map.of());
    for (String tenant : List.of("acme", "beta")) {
      assertThat(gateway.post("/admin/v1/tenants", "{\"id\":\"" + tenant + "\"}").statusCode())
          .isEqualTo(201);
    }
    gateway.bean(Authenticator.class).refresh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
    idp.stop(0);
  }

  private static JWTClaimsSet.Builder claims(String subject, String tenant) {
    return new JWTClaimsSet.Builder().issuer(ISSUER).subject(subject).audience("modelway")
        .claim("tenant", tenant).issueTime(new Date())
        .expirationTime(Date.from(Instant.now().plusSeconds(300)));
  }

  private static String sign(JWTClaimsSet claims, RSAKey key, String kid) throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(),
        claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private static HttpResponse<String> chat(String token) {
    return gateway.call("POST", "/v1/chat/completions", token,
        "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
  }

  private static String refusal(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(401);
    JsonNode error = JSON.readTree(response.body()).path("error");
    assertThat(error.path("code").asString()).isEqualTo("invalid_token");
    return error.path("message").asString();
  }

  @Test
  void aValidTokenCallsModelsAsItsTenantAndSubject() throws Exception {
    HttpResponse<String> answer = chat(sign(claims("alice", "acme").build(), first, "k1"));
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode usage = JSON.readTree(gateway.get("/admin/v1/usage?tenant=acme").body());
      assertThat(usage.path("data").valueStream().map(r -> r.path("key_id").asString()))
          .contains("jwt:alice");
    });
  }

  @Test
  void refusesTokensThatAreExpiredForeignOrForgedSayingWhy() throws Exception {
    assertThat(refusal(chat(sign(claims("bob", "acme")
        .expirationTime(Date.from(Instant.now().minusSeconds(120))).build(), first, "k1"))))
        .containsIgnoringCase("expired");
    assertThat(refusal(chat(sign(claims("bob", "acme").issuer("https://elsewhere.test").build(),
        first, "k1")))).contains("iss");
    assertThat(refusal(chat(sign(claims("bob", "acme").audience("other").build(), first, "k1"))))
        .contains("aud");
    RSAKey forger = new RSAKeyGenerator(2048).keyID("k1").generate();
    assertThat(refusal(chat(sign(claims("bob", "acme").build(), forger, "k1"))))
        .contains("refused");
    assertThat(refusal(chat(sign(claims("bob", "nowhere").build(), first, "k1"))))
        .contains("tenant 'nowhere' does not exist");
    assertThat(refusal(chat(sign(new JWTClaimsSet.Builder().issuer(ISSUER).subject("bob")
        .audience("modelway").expirationTime(Date.from(Instant.now().plusSeconds(60))).build(),
        first, "k1")))).contains("no 'tenant' claim");
    // A key that is not a JWT still goes to the keys.
    assertThat(chat("mw-not-a-real-key").statusCode()).isEqualTo(401);
  }

  @Test
  void refusesTokensWithoutExpiryOrLivingLongerThanTheMaximumLifetime() throws Exception {
    JWTClaimsSet.Builder forever = new JWTClaimsSet.Builder().issuer(ISSUER).subject("bob")
        .audience("modelway").claim("tenant", "acme").issueTime(new Date());
    assertThat(refusal(chat(sign(forever.build(), first, "k1")))).contains("exp");
    assertThat(refusal(chat(sign(claims("bob", "acme")
        .expirationTime(Date.from(Instant.now().plus(Duration.ofDays(2)))).build(), first, "k1"))))
        .contains("exp").contains("24h");
    // Within the lifetime from now, but issued with a longer one.
    assertThat(refusal(chat(sign(claims("bob", "acme")
        .issueTime(Date.from(Instant.now().minus(Duration.ofDays(3))))
        .expirationTime(Date.from(Instant.now().plusSeconds(300))).build(), first, "k1"))))
        .contains("iat");
  }

  @Test
  void aTokenSignedWithAnUnknownKeyIsRefusedWithoutNamingTheIssuersUrls() throws Exception {
    RSAKey stranger = new RSAKeyGenerator(2048).keyID("k-unknown").generate();
    String message = refusal(chat(sign(claims("bob", "acme").build(), stranger, "k-unknown")));
    assertThat(message).contains("k-unknown").doesNotContain("127.0.0.1").doesNotContain("/certs");
  }

  @Test
  void rolesComeFromTheConfiguredClaimAndHoldOnTheAdminApi() throws Exception {
    String admin = sign(claims("carol", "acme").claim("roles", List.of("offline_access",
        "tenant_admin")).build(), first, "k1");
    assertThat(gateway.call("GET", "/admin/v1/keys", admin, null).statusCode()).isEqualTo(200);
    assertThat(gateway.call("GET", "/admin/v1/keys?tenant=beta", admin, null).statusCode())
        .isEqualTo(404);
    String member = sign(claims("dave", "acme").build(), first, "k1");
    assertThat(gateway.call("GET", "/admin/v1/keys", member, null).statusCode()).isEqualTo(403);
  }

  @Test
  void followsTheIssuerWhenItRotatesItsKeys() throws Exception {
    published.set(new JWKSet(List.of(first.toPublicJWK(), second.toPublicJWK())));
    String token = sign(claims("erin", "acme").build(), second, "k2");
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250))
        .untilAsserted(() -> assertThat(chat(token).statusCode()).isEqualTo(200));
  }
}
