package io.modelway.gateway.auth;

import java.util.Locale;

/** What a key may do. Each role may do everything the ones below it may. */
public enum Role {
  /** Calls the models; reads nothing of the admin API. */
  MEMBER,
  /** Also manages its own tenant's keys and reads its usage. */
  TENANT_ADMIN,
  /** Also manages every tenant, plans, prices and workers. */
  PLATFORM_ADMIN;

  public boolean atLeast(Role other) {
    return compareTo(other) >= 0;
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException naming the roles there are
   */
  public static Role parse(String label) {
    for (Role role : values()) {
      if (role.label().equals(label)) {
        return role;
      }
    }
    throw new IllegalArgumentException("role: '" + label
        + "' (expected: member, tenant_admin or platform_admin)");
  }
}
