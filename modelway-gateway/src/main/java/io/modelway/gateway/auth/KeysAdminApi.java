package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Tenants, keys and the audit log over HTTP, under the callers' roles: a platform admin manages
 * everything; a tenant admin its own tenant's keys, issuing member keys only; a member nothing.
 * No caller changes, revokes or rotates a key whose role is above its own (403), and a caller
 * limited to some models issues and rotates only keys within them, so no call yields a secret
 * with more power than its caller's. A tenant admin asking about another
 * tenant's keys gets 404, as if they did not exist. The store is blocking, so each call runs on
 * {@code blocking}.
 *
 * <pre>
 * POST  /admin/v1/tenants           {"id", "name", "plan"}              platform admin
 * GET   /admin/v1/tenants                                                platform admin: all; tenant admin: its own
 * PATCH /admin/v1/tenants/{id}      {"plan": "ID" or null}              platform admin
 * POST  /admin/v1/keys              {"tenant", "name", "role", "project", "models", "expires_in", "plan"}
 * GET   /admin/v1/keys[?tenant=ID]
 * PATCH /admin/v1/keys/{id}         {"plan": "ID" or null}       tenant admin: only plans offered
 *                                                                 to its tenant, or its tenant's
 * POST /admin/v1/keys/{id}/revoke
 * POST /admin/v1/keys/{id}/rotate   {"grace": "1h", "expires_in": "30d"}
 * GET  /admin/v1/audit[?limit=N]                                         platform admin
 * </pre>
 */
final class KeysAdminApi {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  static final Duration DEFAULT_GRACE = Duration.ofHours(24);
  private static final Set<String> TENANT_FIELDS = Set.of("id", "name", "plan");
  private static final Set<String> PLAN_FIELD = Set.of("plan");
  private static final Set<String> KEY_FIELDS =
      Set.of("tenant", "name", "role", "project", "models", "expires_in", "plan");
  /** What the store's {@code allowed_models} column holds. */
  private static final int MAX_MODELS_LENGTH = 4000;

  private final ApiKeys keys;
  private final Authenticator authenticator;
  private final PlanOffers offers;
  private final Scheduler blocking;

  KeysAdminApi(ApiKeys keys, Authenticator authenticator, PlanOffers offers, Scheduler blocking) {
    this.keys = requireNonNull(keys, "keys");
    this.authenticator = requireNonNull(authenticator, "authenticator");
    this.offers = requireNonNull(offers, "offers");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .POST("/admin/v1/tenants", this::createTenant)
        .GET("/admin/v1/tenants", this::tenants)
        .PATCH("/admin/v1/tenants/{id}", this::updateTenant)
        .PATCH("/admin/v1/keys/{id}", this::updateKey)
        .POST("/admin/v1/keys", this::issue)
        .GET("/admin/v1/keys", this::listKeys)
        .POST("/admin/v1/keys/{id}/revoke", this::revoke)
        .POST("/admin/v1/keys/{id}/rotate", this::rotate)
        .GET("/admin/v1/audit", this::audit)
        .build();
  }

  private Principal caller(ServerRequest request, Role role) {
    return authenticator.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), role);
  }

  private Mono<ServerResponse> createTenant(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      return body(request, TENANT_FIELDS).flatMap(json -> run(HttpStatus.CREATED, () -> {
        String id = text(json, "id", true);
        if (!ApiKeys.validTenantId(id)) {
          throw OpenAiException.invalidRequest("'id' must be 1 to 64 lower-case letters, digits,"
              + " '-' or '_', starting with a letter or digit.", "id");
        }
        String name = Optional.ofNullable(text(json, "name", false)).orElse(id);
        ApiKeys.Tenant created = keys.createTenant(id, name, plan(json), caller);
        authenticator.refresh();
        return tenant(created);
      }));
    });
  }

  private Mono<ServerResponse> tenants(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      return run(HttpStatus.OK, () -> {
        ArrayNode data = JSON.createArrayNode();
        keys.tenants().stream().filter(t -> caller.manages(t.id()))
            .forEach(t -> data.add(tenant(t)));
        return list(data);
      });
    });
  }

  private Mono<ServerResponse> updateTenant(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String id = request.pathVariable("id");
      return body(request, PLAN_FIELD).flatMap(json -> run(HttpStatus.OK, () -> {
        ApiKeys.Tenant tenant = keys.setTenantPlan(id, requiredPlan(json), caller);
        authenticator.refresh();
        return tenant(tenant);
      }));
    });
  }

  private Mono<ServerResponse> updateKey(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      String id = request.pathVariable("id");
      return body(request, PLAN_FIELD).flatMap(json -> run(HttpStatus.OK, () -> {
        Optional<String> plan = requiredPlan(json);
        ApiKey current = actOn(caller, id);
        current.plan().ifPresent(p -> mayAttach(caller, current.tenantId(), p));
        plan.ifPresent(p -> mayAttach(caller, current.tenantId(), p));
        ApiKey key = keys.setKeyPlan(id, plan, caller);
        authenticator.refresh();
        return key(key);
      }));
    });
  }

  /** The body's {@code plan}, which must be there: a plan id, or {@code null} for none. */
  private static Optional<String> requiredPlan(JsonNode json) {
    if (json.path("plan").isMissingNode()) {
      throw OpenAiException.invalidRequest("'plan' is required: a plan id, or null for none.",
          "plan");
    }
    return plan(json);
  }

  private static Optional<String> plan(JsonNode json) {
    return Optional.ofNullable(text(json, "plan", false));
  }

  private Mono<ServerResponse> issue(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      return body(request, KEY_FIELDS).flatMap(json -> {
        String tenantId = Optional.ofNullable(text(json, "tenant", false)).orElse(caller.tenantId());
        Role role = role(json);
        if (!caller.manages(tenantId)) {
          return Mono.error(notFound("tenant", tenantId));
        }
        if (role.atLeast(caller.role()) && caller.role() != Role.PLATFORM_ADMIN) {
          return Mono.error(new OpenAiException(403, "permission_error", "A " + caller.role().label()
              + " key can issue member keys only.", "role", "insufficient_role"));
        }
        Set<String> models = models(json);
        if (models.isEmpty()) {
          models = caller.allowedModels();
        } else if (!caller.covers(models)) {
          return Mono.error(modelsBeyondCaller(caller));
        }
        ApiKeys.NewKey spec = new ApiKeys.NewKey(tenantId,
            Optional.ofNullable(text(json, "project", false)),
            Optional.ofNullable(text(json, "name", false)).orElse("key"), role, models,
            expiry(json), plan(json));
        return run(HttpStatus.CREATED, () -> {
          spec.plan().ifPresent(p -> mayAttach(caller, spec.tenantId(), p));
          ApiKeys.IssuedKey issued = keys.issue(spec, caller);
          authenticator.refresh();
          return key(issued.key()).put("key", issued.secret());
        });
      });
    });
  }

  private Mono<ServerResponse> listKeys(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      Optional<String> tenant = request.queryParam("tenant");
      if (caller.role() != Role.PLATFORM_ADMIN) {
        if (tenant.isPresent() && !caller.manages(tenant.get())) {
          return Mono.error(notFound("tenant", tenant.get()));
        }
        tenant = Optional.of(caller.tenantId());
      }
      Optional<String> which = tenant;
      return run(HttpStatus.OK, () -> {
        ArrayNode data = JSON.createArrayNode();
        keys.keys(which).forEach(k -> data.add(key(k)));
        return list(data);
      });
    });
  }

  private Mono<ServerResponse> revoke(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      String id = request.pathVariable("id");
      return run(HttpStatus.OK, () -> {
        ApiKey key = actOn(caller, id);
        ApiKey revoked = keys.revoke(key.id(), caller);
        authenticator.refresh();
        return key(revoked);
      });
    });
  }

  private Mono<ServerResponse> rotate(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      String id = request.pathVariable("id");
      return request.bodyToMono(byte[].class).defaultIfEmpty(new byte[0]).flatMap(bytes -> {
        JsonNode json = bytes.length == 0 ? JSON.createObjectNode()
            : AdminCalls.object(bytes, Set.of("grace", "expires_in"));
        Duration grace = duration(json, "grace").orElse(DEFAULT_GRACE);
        Optional<Duration> lifetime = duration(json, "expires_in");
        return run(HttpStatus.CREATED, () -> {
          if (!caller.covers(actOn(caller, id).allowedModels())) {
            throw modelsBeyondCaller(caller);
          }
          ApiKeys.IssuedKey fresh = keys.rotate(id, grace, lifetime, caller);
          authenticator.refresh();
          return key(fresh.key()).put("key", fresh.secret()).put("replaces", id);
        });
      });
    });
  }

  private Mono<ServerResponse> audit(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.PLATFORM_ADMIN);
      int limit = request.queryParam("limit").map(KeysAdminApi::limit).orElse(100);
      return run(HttpStatus.OK, () -> {
        ArrayNode data = JSON.createArrayNode();
        keys.audit(limit).forEach(e -> {
          ObjectNode entry = data.addObject().put("at", e.at().toString())
              .put("action", e.action()).put("target", e.target()).put("detail", e.detail());
          e.actorKeyId().ifPresent(v -> entry.put("actor_key_id", v));
          e.actorTenantId().ifPresent(v -> entry.put("actor_tenant_id", v));
        });
        return list(data);
      });
    });
  }

  /**
   * The key {@code id} if the caller may act on it: the caller manages its tenant (else 404,
   * whether or not it exists) and the key's role is not above the caller's (else 403), so that no
   * change to a key — its plan, its revocation, its rotation into a new secret — is in the hands
   * of a caller with less power than the key.
   */
  private ApiKey actOn(Principal caller, String id) {
    ApiKey key = keys.key(id).filter(k -> caller.manages(k.tenantId()))
        .orElseThrow(() -> notFound("key", id));
    if (!caller.role().atLeast(key.role())) {
      throw new OpenAiException(403, "permission_error", "A " + caller.role().label()
          + " key cannot act on a " + key.role().label() + " key.", null, "insufficient_role");
    }
    return key;
  }

  /**
   * Refuses, as if it did not exist, a plan that {@code caller} may not put on (or take off) a
   * key of {@code tenant}: a tenant admin may use only the plans offered to its tenant and its
   * tenant's own plan, so that a key's plan is chosen by the platform admin's offer.
   */
  private void mayAttach(Principal caller, String tenant, String plan) {
    if (caller.role() == Role.PLATFORM_ADMIN || offers.offered(plan, tenant)
        || keys.tenant(tenant).flatMap(ApiKeys.Tenant::plan).filter(plan::equals).isPresent()) {
      return;
    }
    throw notFound("plan", plan);
  }

  private Mono<ServerResponse> run(HttpStatus status, Callable<ObjectNode> work) {
    return AdminCalls.run(blocking, status, work);
  }

  private static Mono<JsonNode> body(ServerRequest request, Set<String> fields) {
    return AdminCalls.body(request, fields);
  }

  private static @Nullable String text(JsonNode json, String field, boolean required) {
    JsonNode value = json.path(field);
    if (value.isMissingNode() || value.isNull()) {
      if (required) {
        throw OpenAiException.invalidRequest("'" + field + "' is required.", field);
      }
      return null;
    }
    if (!value.isString() || value.asString().isBlank()) {
      throw OpenAiException.invalidRequest("'" + field + "' must be a non-empty string.", field);
    }
    return value.asString().strip();
  }

  private static Role role(JsonNode json) {
    String label = text(json, "role", false);
    try {
      return label == null ? Role.MEMBER : Role.parse(label);
    } catch (IllegalArgumentException e) {
      throw OpenAiException.invalidRequest(e.getMessage() + ".", "role");
    }
  }

  private static Set<String> models(JsonNode json) {
    JsonNode value = json.path("models");
    if (value.isMissingNode() || value.isNull()) {
      return Set.of();
    }
    if (!value.isArray()) {
      throw OpenAiException.invalidRequest("'models' must be an array of model names.", "models");
    }
    Set<String> models = new LinkedHashSet<>();
    for (JsonNode m : value) {
      if (!m.isString() || m.asString().isBlank() || m.asString().contains(",")) {
        throw OpenAiException.invalidRequest("'models' must hold model names.", "models");
      }
      models.add(m.asString());
    }
    AdminCalls.fits(models, MAX_MODELS_LENGTH, "models");
    return models;
  }

  private static Optional<Instant> expiry(JsonNode json) {
    return duration(json, "expires_in").map(d -> Instant.now().plus(d));
  }

  private static Optional<Duration> duration(JsonNode json, String field) {
    String text = text(json, field, false);
    if (text == null) {
      return Optional.empty();
    }
    try {
      Duration d = DurationStyle.detectAndParse(text);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException();
      }
      return Optional.of(d);
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw OpenAiException.invalidRequest("'" + field + "' must be a positive duration such as"
          + " 30d, 12h or 90m, not '" + text + "'.", field);
    }
  }

  private static int limit(String text) {
    try {
      int n = Integer.parseInt(text);
      if (n >= 1 && n <= 10_000) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw OpenAiException.invalidRequest("'limit' must be 1 to 10000.", "limit");
  }

  /** A key that could call models its caller cannot: it would hand out more than it has. */
  private static OpenAiException modelsBeyondCaller(Principal caller) {
    return new OpenAiException(403, "permission_error", "Your key may call only "
        + caller.allowedModels().stream().sorted().toList() + "; it cannot issue or rotate a key"
        + " for other models.", "models", "insufficient_role");
  }

  private static OpenAiException notFound(String what, String id) {
    return new OpenAiException(404, "invalid_request_error", "No " + what + " '" + id + "'.", null,
        "not_found");
  }

  private static ObjectNode list(ArrayNode data) {
    ObjectNode list = JSON.createObjectNode().put("object", "list");
    list.set("data", data);
    return list;
  }

  private static ObjectNode tenant(ApiKeys.Tenant t) {
    return JSON.createObjectNode().put("id", t.id()).put("object", "tenant").put("name", t.name())
        .put("plan", t.plan().orElse(null)).put("created_at", t.createdAt().toString());
  }

  static ObjectNode key(ApiKey k) {
    ObjectNode node = JSON.createObjectNode().put("id", k.id()).put("object", "api_key")
        .put("tenant", k.tenantId()).put("name", k.name()).put("prefix", k.prefix())
        .put("role", k.role().label()).put("created_at", k.createdAt().toString());
    k.project().ifPresent(p -> node.put("project", p));
    ArrayNode models = node.putArray("models");
    k.allowedModels().stream().sorted().forEach(models::add);
    node.put("plan", k.plan().orElse(null));
    node.put("expires_at", k.expiresAt().map(Instant::toString).orElse(null));
    node.put("revoked_at", k.revokedAt().map(Instant::toString).orElse(null));
    node.put("status", k.revokedAt().isPresent() ? "revoked"
        : k.validAt(Instant.now()) ? "active" : "expired");
    return node;
  }
}
