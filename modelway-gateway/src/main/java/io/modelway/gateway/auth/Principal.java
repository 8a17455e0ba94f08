package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.Set;

/**
 * Who is calling: the tenant a request is attributed to, the key it came with, and what that key
 * may do. Immutable.
 *
 * @param keyId the key's id ({@code admin-env} for the key in {@code MODELWAY_ADMIN_KEY})
 * @param allowedModels the models it may call; empty means every model
 * @param plan the key's own plan, whose limits count this key's calls (on top of its tenant's)
 * @param tenantPlan the tenant's plan, whose limits count all the tenant's calls together
 */
public record Principal(String tenantId, String keyId, Optional<String> project, Role role,
    Set<String> allowedModels, Optional<String> plan, Optional<String> tenantPlan) {

  /** The id of the key held in {@code MODELWAY_ADMIN_KEY}, which is not in the store. */
  public static final String ENV_ADMIN_KEY_ID = "admin-env";
  /** The platform administrators' tenant. */
  public static final String ADMIN_TENANT = "admin";

  public Principal {
    requireNonNull(tenantId, "tenantId");
    requireNonNull(keyId, "keyId");
    requireNonNull(project, "project");
    requireNonNull(role, "role");
    allowedModels = Set.copyOf(requireNonNull(allowedModels, "allowedModels"));
    requireNonNull(plan, "plan");
    requireNonNull(tenantPlan, "tenantPlan");
  }

  static Principal of(ApiKey key, Optional<String> tenantPlan) {
    return new Principal(key.tenantId(), key.id(), key.project(), key.role(), key.allowedModels(),
        key.plan(), tenantPlan);
  }

  /** Whether this principal may call {@code model}. */
  public boolean allows(String model) {
    return allowedModels.isEmpty() || allowedModels.contains(model);
  }

  /**
   * Whether a key allowed {@code models} (empty: every model) reaches no model this principal
   * cannot call, so that handing out its secret gives no more than the caller has.
   */
  public boolean covers(Set<String> models) {
    return allowedModels.isEmpty() || (!models.isEmpty() && allowedModels.containsAll(models));
  }

  /** Whether this principal may act on {@code tenant}'s keys and usage. */
  public boolean manages(String tenant) {
    return role == Role.PLATFORM_ADMIN || (role == Role.TENANT_ADMIN && tenantId.equals(tenant));
  }
}
