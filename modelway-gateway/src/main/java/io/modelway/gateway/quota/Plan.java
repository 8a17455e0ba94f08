package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.cache.CachePolicy;
import io.modelway.gateway.scheduling.Priority;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A plan: the limits a tenant (all its calls together) or a key (its own calls) is held to.
 * The same plan may be given to tenants and to keys; each holder has its own counters.
 * Immutable.
 *
 * @param id the plan's name, as the admin API and the store name it
 * @param limits over every model
 * @param allowedModels the models it may call; empty means every model
 * @param modelLimits limits of one model, counted apart from the others and on top of {@code
 *     limits}
 * @param quota what a holder may use in a calendar month
 * @param priority the class its holder's calls wait in when a model's instances are busy
 *     (default {@link Priority#STANDARD}); a request may lower it, never raise it
 * @param weight its holder's share of a model's busy instances relative to other tenants of the
 *     same class, 1 to {@value #MAX_WEIGHT} (default 1)
 * @param cache what the response cache does for its holders' calls, on top of each model's
 *     settings
 * @param revision grows with each change of the plan; counters built from an older revision are
 *     reconfigured
 */
public record Plan(String id, Limits limits, Set<String> allowedModels,
    Map<String, Limits> modelLimits, Quota quota, Priority priority, int weight,
    CachePolicy cache, long revision) {
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
  /** The largest fair-share weight. */
  public static final int MAX_WEIGHT = 1000;

  public Plan {
    requireNonNull(id, "id");
    requireNonNull(limits, "limits");
    allowedModels = Set.copyOf(requireNonNull(allowedModels, "allowedModels"));
    modelLimits = Map.copyOf(requireNonNull(modelLimits, "modelLimits"));
    requireNonNull(quota, "quota");
    requireNonNull(priority, "priority");
    requireNonNull(cache, "cache");
    if (weight < 1 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: 1 to " + MAX_WEIGHT + ")");
    }
    if (!validId(id)) {
      throw new IllegalArgumentException("id: '" + id + "' (expected: 1 to 64 lower-case"
          + " letters, digits, '-', '_' or '.', starting with a letter or digit)");
    }
  }

  /** A plan without monthly quotas. */
  public Plan(String id, Limits limits, Set<String> allowedModels,
      Map<String, Limits> modelLimits, long revision) {
    this(id, limits, allowedModels, modelLimits, Quota.NONE, Priority.STANDARD, 1,
        CachePolicy.NONE, revision);
  }

  /** A plan of the standard class and weight 1. */
  public Plan(String id, Limits limits, Set<String> allowedModels,
      Map<String, Limits> modelLimits, Quota quota, long revision) {
    this(id, limits, allowedModels, modelLimits, quota, Priority.STANDARD, 1, CachePolicy.NONE,
        revision);
  }

  /** A plan that says nothing of the response cache. */
  public Plan(String id, Limits limits, Set<String> allowedModels,
      Map<String, Limits> modelLimits, Quota quota, Priority priority, int weight, long revision) {
    this(id, limits, allowedModels, modelLimits, quota, priority, weight, CachePolicy.NONE,
        revision);
  }

  /** This plan at {@code next} revision. */
  Plan withRevision(long next) {
    return new Plan(id, limits, allowedModels, modelLimits, quota, priority, weight, cache, next);
  }

  /** Whether {@code id} is a well-formed plan id. */
  public static boolean validId(String id) {
    return ID.matcher(id).matches();
  }

  /**
   * The cache policy of {@code principal}'s calls, among the plans {@code byId}: its tenant's
   * plan's, narrowed by its key's own plan's ({@link CachePolicy#narrowedBy}). The one place
   * that says so, for the Cache stage and for what a hard budget reserves for a hit.
   */
  public static CachePolicy cachePolicy(Principal principal, Map<String, Plan> byId) {
    CachePolicy tenant = principal.tenantPlan().map(byId::get).map(Plan::cache)
        .orElse(CachePolicy.NONE);
    return principal.plan().map(byId::get).map(Plan::cache).map(tenant::narrowedBy)
        .orElse(tenant);
  }

  /** Whether the plan lets its holder call {@code model}. */
  public boolean allows(String model) {
    return allowedModels.isEmpty() || allowedModels.contains(model);
  }
}
