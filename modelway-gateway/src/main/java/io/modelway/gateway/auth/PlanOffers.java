package io.modelway.gateway.auth;

/**
 * Whether a plan is offered to a tenant, so that the tenant's admins may put their keys on it.
 * The quota feature owns plans and answers; blocking (it may read the store).
 */
@FunctionalInterface
public interface PlanOffers {
  /** Whether plan {@code planId} exists and is offered to {@code tenantId}. */
  boolean offered(String planId, String tenantId);
}
