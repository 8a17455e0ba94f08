package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelway.openai.OpenAiException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AuthenticatorTest {
  private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
  private final Map<String, ApiKey> store = new HashMap<>();
  private final Authenticator auth = new Authenticator(() -> store, Map::of, JwtVerifier.none(), Optional.of("env-admin-secret"),
      Clock.fixed(NOW, ZoneOffset.UTC));

  private String add(String id, Optional<Instant> expires, Optional<Instant> revoked) {
    String secret = KeySecrets.generate();
    store.put(KeySecrets.sha256(secret), new ApiKey(id, "acme", Optional.empty(), id,
        KeySecrets.shown(secret), Role.MEMBER, Set.of(), NOW, expires, revoked, Optional.empty()));
    return secret;
  }

  private static int status(Runnable call) {
    try {
      call.run();
      return 200;
    } catch (OpenAiException e) {
      return e.status();
    }
  }

  @Test
  void acceptsAKnownKeyAndTheEnvironmentAdminKey() {
    String secret = add("key_1", Optional.empty(), Optional.empty());
    auth.refresh();

    assertThat(auth.authenticate("Bearer " + secret).keyId()).isEqualTo("key_1");
    assertThat(auth.authenticate("bearer  " + secret + " ").tenantId()).isEqualTo("acme");
    Principal admin = auth.authenticate("Bearer env-admin-secret");
    assertThat(admin.role()).isEqualTo(Role.PLATFORM_ADMIN);
    assertThat(admin.tenantId()).isEqualTo("admin");
  }

  @Test
  void refusesMissingUnknownRevokedAndExpiredKeysWith401() {
    String revoked = add("key_r", Optional.empty(), Optional.of(NOW.minusSeconds(1)));
    String expired = add("key_e", Optional.of(NOW), Optional.empty());
    auth.refresh();

    assertThatThrownBy(() -> auth.authenticate(null)).hasMessageContaining("didn't provide");
    assertThatThrownBy(() -> auth.authenticate("Basic abc")).hasMessageContaining("didn't provide");
    assertThatThrownBy(() -> auth.authenticate("Bearer mw-nope-nope-nope"))
        .hasMessageContaining("Incorrect API key").hasMessageNotContaining("nope-nope");
    assertThatThrownBy(() -> auth.authenticate("Bearer " + revoked)).hasMessageContaining("revoked");
    assertThatThrownBy(() -> auth.authenticate("Bearer " + expired)).hasMessageContaining("expired");
    assertThat(status(() -> auth.authenticate("Bearer " + revoked))).isEqualTo(401);
  }

  @Test
  void seesAKeyOnlyAfterARefresh() {
    String secret = add("key_1", Optional.empty(), Optional.empty());
    assertThat(status(() -> auth.authenticate("Bearer " + secret))).isEqualTo(401);
    auth.refresh();
    assertThat(status(() -> auth.authenticate("Bearer " + secret))).isEqualTo(200);
  }

  @Test
  void requireRefusesALowerRoleWith403() {
    String secret = add("key_1", Optional.empty(), Optional.empty());
    auth.refresh();
    assertThat(status(() -> auth.require("Bearer " + secret, Role.PLATFORM_ADMIN))).isEqualTo(403);
    assertThat(status(() -> auth.require("Bearer env-admin-secret", Role.PLATFORM_ADMIN)))
        .isEqualTo(200);
  }
}
