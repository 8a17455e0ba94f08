package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * To whom a plan is offered: the tenants whose admins may see it and put their own keys on it.
 * Plans belong to the platform admin; one offered to no tenant is attached by a platform admin
 * only. Immutable.
 *
 * @param all offered to every tenant
 * @param tenants the tenants it is offered to, when not to all
 */
public record PlanOffer(boolean all, Set<String> tenants) {
  /** Offered to no tenant. */
  public static final PlanOffer NONE = new PlanOffer(false, Set.of());
  /** Offered to every tenant. */
  public static final PlanOffer ALL = new PlanOffer(true, Set.of());

  public PlanOffer {
    tenants = Set.copyOf(requireNonNull(tenants, "tenants"));
    if (all && !tenants.isEmpty()) {
      throw new IllegalArgumentException("offered_to: all and a list of tenants at once");
    }
  }

  /** Whether {@code tenant}'s admins may see the plan and attach it to their keys. */
  public boolean offeredTo(String tenant) {
    return all || tenants.contains(tenant);
  }
}
