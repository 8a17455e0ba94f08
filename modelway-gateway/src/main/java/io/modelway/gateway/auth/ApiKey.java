package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * An API key as stored: everything but its secret, which only its holder has.
 *
 * @param id the key's id, as the admin API names it
 * @param prefix the secret's first characters, shown so people can tell keys apart
 * @param allowedModels the models it may call; empty means every model
 * @param expiresAt after this instant the key is refused
 * @param revokedAt when it was revoked; a revoked key is refused
 * @param plan the key's own plan, if it has one (its tenant's plan applies either way)
 */
public record ApiKey(String id, String tenantId, Optional<String> project, String name,
    String prefix, Role role, Set<String> allowedModels, Instant createdAt,
    Optional<Instant> expiresAt, Optional<Instant> revokedAt, Optional<String> plan) {

  public ApiKey {
    requireNonNull(id, "id");
    requireNonNull(tenantId, "tenantId");
    requireNonNull(project, "project");
    requireNonNull(name, "name");
    requireNonNull(prefix, "prefix");
    requireNonNull(role, "role");
    allowedModels = Set.copyOf(requireNonNull(allowedModels, "allowedModels"));
    requireNonNull(createdAt, "createdAt");
    requireNonNull(expiresAt, "expiresAt");
    requireNonNull(revokedAt, "revokedAt");
    requireNonNull(plan, "plan");
  }

  /** Whether the key is neither revoked nor expired at {@code now}. */
  public boolean validAt(Instant now) {
    return revokedAt.isEmpty() && expiresAt.map(now::isBefore).orElse(true);
  }

  /** Whether the key may call {@code model}. */
  public boolean allows(String model) {
    return allowedModels.isEmpty() || allowedModels.contains(model);
  }
}
