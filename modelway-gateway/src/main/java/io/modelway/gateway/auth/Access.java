package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Who may call this process: {@code api} authenticates the OpenAI API ({@code /v1}), {@code
 * admin} the admin API ({@code /admin/v1}, which then requires a role).
 */
public record Access(Authentication api, Authentication admin) {
  public Access {
    requireNonNull(api, "api");
    requireNonNull(admin, "admin");
  }

  /** A gateway's: tenants' keys everywhere. */
  public static Access gateway(Authenticator keys) {
    return new Access(keys, keys);
  }

  /**
   * A worker's: the cluster secret on {@code /v1} (open when unset) and {@code MODELWAY_ADMIN_KEY}
   * on its admin API (off when unset). A worker keeps no keys of its own.
   */
  public static Access worker(Function<String, @Nullable String> environment) {
    SharedSecret cluster = SharedSecret.fromEnvironment(environment,
        SharedSecret.CLUSTER_SECRET_ENV, "this worker's API");
    SharedSecret adminKey = SharedSecret.fromEnvironment(environment, SharedSecret.ADMIN_KEY_ENV,
        "the admin API");
    Principal admin = new Principal(Principal.ADMIN_TENANT, Principal.ENV_ADMIN_KEY_ID,
        Optional.empty(), Role.PLATFORM_ADMIN, Set.of(), Optional.empty(),
        Optional.empty());
    return new Access(Authentication.clusterSecret(cluster), authorization -> {
      adminKey.check(authorization);
      return admin;
    });
  }
}
