package io.modelway.gateway.auth;

import io.modelway.openai.OpenAiException;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Who a request's {@code Authorization} header says it is. The gateway authenticates tenants'
 * keys ({@link Authenticator}); a worker, which sits behind the gateway, only checks that the
 * caller holds the cluster secret ({@link #clusterSecret}).
 */
@FunctionalInterface
public interface Authentication {

  /**
   * @throws OpenAiException 401 when the header does not authenticate anyone
   */
  Principal authenticate(@Nullable String authorization);

  /**
   * {@link #authenticate}, then requires {@code role}.
   *
   * @throws OpenAiException 403 when the principal's role is below {@code role}
   */
  default Principal require(@Nullable String authorization, Role role) {
    Principal principal = authenticate(authorization);
    if (!principal.role().atLeast(role)) {
      throw new OpenAiException(403, "permission_error", "This needs a " + role.label()
          + " key; yours is a " + principal.role().label() + " key.", null, "insufficient_role");
    }
    return principal;
  }

  /** The tenant a worker attributes its calls to; the gateway accounts for them, not the worker. */
  String CLUSTER_TENANT = "cluster";

  /**
   * A worker's: with the cluster secret set, only callers that present it (the gateway) get in;
   * without it the worker is open, for a worker used on its own.
   */
  static Authentication clusterSecret(SharedSecret secret) {
    Principal cluster = new Principal(CLUSTER_TENANT, CLUSTER_TENANT, Optional.empty(),
        Role.MEMBER, Set.of(), Optional.empty(),
        Optional.empty());
    if (!secret.isSet()) {
      return authorization -> cluster;
    }
    return authorization -> {
      secret.check(authorization);
      return cluster;
    };
  }
}
