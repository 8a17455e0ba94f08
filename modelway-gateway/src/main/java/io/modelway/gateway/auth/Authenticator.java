package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.OpenAiException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Turns an {@code Authorization: Bearer KEY} header into a {@link Principal}, from an in-memory
 * snapshot of the store's keys, so the request path never waits on the database. The snapshot is
 * reloaded by {@link #refresh()}: at once after a change made through this process, and
 * periodically for changes made through other gateway replicas. A key revoked elsewhere is
 * therefore refused here within one refresh period.
 *
 * <p>Secrets are looked up by their SHA-256 (the map lookup compares hashes, not secrets); the
 * key in {@code MODELWAY_ADMIN_KEY} is compared in constant time. Thread-safe.
 */
public final class Authenticator implements Authentication {
  private final Supplier<Map<String, ApiKey>> loader;
  private final Supplier<Map<String, Optional<String>>> tenantLoader;
  private final JwtVerifier jwt;
  private final Optional<byte[]> envAdminKey;
  private final Clock clock;
  private volatile Map<String, ApiKey> byHash = Map.of();
  private volatile Map<String, Optional<String>> tenants = Map.of();

  /**
   * @param loader reads every key by the SHA-256 of its secret (blocking)
   * @param tenants reads every tenant with its plan, if it has one (blocking)
   * @param jwt verifies bearer JWTs, when the config accepts them
   * @param envAdminKey the value of {@code MODELWAY_ADMIN_KEY}, if set
   */
  public Authenticator(Supplier<Map<String, ApiKey>> loader,
      Supplier<Map<String, Optional<String>>> tenants, JwtVerifier jwt,
      Optional<String> envAdminKey, Clock clock) {
    this.loader = requireNonNull(loader, "loader");
    this.tenantLoader = requireNonNull(tenants, "tenants");
    this.jwt = requireNonNull(jwt, "jwt");
    this.envAdminKey = requireNonNull(envAdminKey, "envAdminKey")
        .filter(k -> !k.isBlank())
        .map(k -> k.strip().getBytes(StandardCharsets.UTF_8));
    this.clock = requireNonNull(clock, "clock");
  }

  /** Reloads the snapshot of keys and tenants (and the JWT issuer's keys when due); blocking. */
  public void refresh() {
    Map<String, Optional<String>> all = Map.copyOf(tenantLoader.get());
    byHash = Map.copyOf(loader.get());
    tenants = all;
    jwt.refresh();
  }

  /**
   * @throws OpenAiException 401 when the header is missing, malformed, or holds a key that is
   *     unknown, revoked or expired
   */
  @Override
  public Principal authenticate(@Nullable String authorization) {
    String secret = bearer(authorization);
    if (secret == null) {
      throw new OpenAiException(401, "invalid_request_error", "You didn't provide an API key."
          + " Send it as 'Authorization: Bearer KEY'.", null, "missing_api_key");
    }
    if (envAdminKey.isPresent()
        && MessageDigest.isEqual(envAdminKey.get(), secret.getBytes(StandardCharsets.UTF_8))) {
      return new Principal(Principal.ADMIN_TENANT, Principal.ENV_ADMIN_KEY_ID, Optional.empty(),
          Role.PLATFORM_ADMIN, Set.of(), Optional.empty(),
        Optional.empty());
    }
    if (jwt.enabled() && JwtVerifier.looksLikeJwt(secret)) {
      return fromJwt(jwt.verify(secret));
    }
    ApiKey key = byHash.get(KeySecrets.sha256(secret));
    if (key == null) {
      throw new OpenAiException(401, "invalid_request_error", "Incorrect API key provided: "
          + masked(secret) + ".", null, "invalid_api_key");
    }
    Instant now = clock.instant();
    if (key.revokedAt().isPresent()) {
      throw new OpenAiException(401, "invalid_request_error", "API key " + key.prefix()
          + "… was revoked.", null, "invalid_api_key");
    }
    if (!key.validAt(now)) {
      throw new OpenAiException(401, "invalid_request_error", "API key " + key.prefix()
          + "… expired at " + key.expiresAt().orElseThrow() + ".", null, "invalid_api_key");
    }
    return Principal.of(key, tenants.getOrDefault(key.tenantId(), Optional.empty()));
  }

  /** The caller a verified JWT names: its tenant (which must exist), role and project. */
  private Principal fromJwt(org.springframework.security.oauth2.jwt.Jwt token) {
    ModelwayConfig.Jwt claims = jwt.settings();
    String tenant = token.getClaimAsString(claims.tenantClaim());
    if (tenant == null || tenant.isBlank()) {
      throw refused("it has no '" + claims.tenantClaim() + "' claim naming a tenant");
    }
    Optional<String> plan = tenants.get(tenant);
    if (plan == null) {
      throw refused("its tenant '" + tenant + "' does not exist here");
    }
    Role role = Role.MEMBER;
    Object value = token.getClaims().get(claims.roleClaim());
    for (Object item : value instanceof java.util.Collection<?> c ? c : java.util.Collections.singleton(value)) {
      for (Role r : Role.values()) {
        if (r.label().equals(item) && r.atLeast(role)) {
          role = r;
        }
      }
    }
    String subject = token.getSubject() == null ? "" : token.getSubject();
    return new Principal(tenant, "jwt:" + subject,
        Optional.ofNullable(token.getClaimAsString(claims.projectClaim()))
            .filter(p -> !p.isBlank()),
        role, Set.of(), Optional.empty(), plan);
  }

  private static OpenAiException refused(String why) {
    return new OpenAiException(401, "invalid_request_error", "The bearer token was refused: "
        + why + ".", null, "invalid_token");
  }

  private static String masked(String secret) {
    return secret.length() <= 8 ? "***" : secret.substring(0, 6) + "***"
        + secret.substring(secret.length() - 2);
  }

  static @Nullable String bearer(@Nullable String authorization) {
    if (authorization == null) {
      return null;
    }
    String value = authorization.strip();
    if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String token = value.substring(7).strip();
    return token.isEmpty() ? null : token;
  }
}
