package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

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
  private final Supplier<Map<String, String>> tenantPlanLoader;
  private final Optional<byte[]> envAdminKey;
  private final Clock clock;
  private volatile Map<String, ApiKey> byHash = Map.of();
  private volatile Map<String, String> tenantPlans = Map.of();

  /**
   * @param loader reads every key by the SHA-256 of its secret (blocking)
   * @param tenantPlans reads each tenant's plan, for tenants that have one (blocking)
   * @param envAdminKey the value of {@code MODELWAY_ADMIN_KEY}, if set
   */
  public Authenticator(Supplier<Map<String, ApiKey>> loader,
      Supplier<Map<String, String>> tenantPlans, Optional<String> envAdminKey, Clock clock) {
    this.loader = requireNonNull(loader, "loader");
    this.tenantPlanLoader = requireNonNull(tenantPlans, "tenantPlans");
    this.envAdminKey = requireNonNull(envAdminKey, "envAdminKey")
        .filter(k -> !k.isBlank())
        .map(k -> k.strip().getBytes(StandardCharsets.UTF_8));
    this.clock = requireNonNull(clock, "clock");
  }

  /** Reloads the snapshot of keys and tenants' plans; blocking. */
  public void refresh() {
    Map<String, String> plans = Map.copyOf(tenantPlanLoader.get());
    byHash = Map.copyOf(loader.get());
    tenantPlans = plans;
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
    return Principal.of(key, Optional.ofNullable(tenantPlans.get(key.tenantId())));
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
