/**
 * Who may call what: for now the two shared secrets of a deployment, the admin key
 * ({@code MODELWAY_ADMIN_KEY}, for {@code /admin/v1}) and the cluster secret
 * ({@code MODELWAY_CLUSTER_SECRET}, for worker registration). Tenants' API keys come later.
 */
@NullMarked
package io.modelway.gateway.auth;

import org.jspecify.annotations.NullMarked;
