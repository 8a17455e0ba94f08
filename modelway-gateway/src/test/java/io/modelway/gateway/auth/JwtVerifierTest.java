package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jwt.Jwt;

/** The lifetime rule of {@link JwtVerifier}, on a fixed clock. */
class JwtVerifierTest {
  private static final Instant NOW = Instant.parse("2026-12-08T00:00:00Z");
  private static final OAuth2TokenValidator<Jwt> ONE_HOUR =
      JwtVerifier.lifetime(Duration.ofHours(1), Clock.fixed(NOW, ZoneOffset.UTC));

  private static boolean accepted(@Nullable Instant issuedAt, @Nullable Instant expiresAt) {
    Jwt.Builder jwt = Jwt.withTokenValue("t").header("alg", "RS256").subject("s");
    if (issuedAt != null) {
      jwt.issuedAt(issuedAt);
    }
    if (expiresAt != null) {
      jwt.expiresAt(expiresAt);
    }
    return !ONE_HOUR.validate(jwt.build()).hasErrors();
  }

  @Test
  void aTokenWithoutExpIsRefused() {
    assertThat(accepted(NOW, null)).isFalse();
    assertThat(accepted(null, null)).isFalse();
  }

  @Test
  void expMayLieUpToTheMaximumLifetimeAndAMinuteOfSkewAhead() {
    assertThat(accepted(null, NOW.plus(Duration.ofMinutes(61)))).isTrue();
    assertThat(accepted(null, NOW.plus(Duration.ofMinutes(61)).plusSeconds(1))).isFalse();
  }

  @Test
  void aTokenIssuedWithALongerLifetimeIsRefusedEvenNearItsEnd() {
    assertThat(accepted(NOW.minus(Duration.ofHours(5)), NOW.plus(Duration.ofMinutes(5))))
        .isFalse();
    assertThat(accepted(NOW.minus(Duration.ofMinutes(30)), NOW.plus(Duration.ofMinutes(30))))
        .isTrue();
  }
}
