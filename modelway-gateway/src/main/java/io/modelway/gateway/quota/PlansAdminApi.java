package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.ApiKeys;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Plans over HTTP. Plans belong to the platform admin, who creates, replaces and deletes them and
 * offers each to tenants ({@code "offered_to": "all"} or a list of tenant ids; default: no
 * one). A tenant admin sees only the plans offered to its tenant and its tenant's own plan, and
 * may put its keys only on those; any other plan is a 404 to it, and it never sees to whom a
 * plan is offered. Tenants and keys are put on a plan through the tenants and keys endpoints
 * ({@code "plan"}). The store is blocking, so each call runs on {@code blocking}; a change
 * applies to the next call on this gateway at once, on other replicas within their refresh
 * period.
 *
 * <pre>
 * POST   /admin/v1/plans        {"id", "requests_per_minute", "tokens_per_minute", "max_concurrent",
 *                                "models": [...], "model_limits": {"MODEL": {...}},
 *                                "offered_to": "all" | ["TENANT", ...]}              platform admin
 * GET    /admin/v1/plans                                                              tenant admin
 * GET    /admin/v1/plans/{id}                                                         tenant admin
 * PUT    /admin/v1/plans/{id}   the same body as POST, replacing the plan whole (the offer
 *                               only when "offered_to" is given)                      platform admin
 * DELETE /admin/v1/plans/{id}   409 while a tenant or key is on it                    platform admin
 * </pre>
 */
final class PlansAdminApi {
  /** The most tenants one plan is offered to by name. */
  static final int MAX_OFFERED_TENANTS = 1000;

  private final Plans plans;
  private final LivePlans live;
  private final Authentication authentication;
  private final Scheduler blocking;

  PlansAdminApi(Plans plans, LivePlans live, Authentication authentication, Scheduler blocking) {
    this.plans = requireNonNull(plans, "plans");
    this.live = requireNonNull(live, "live");
    this.authentication = requireNonNull(authentication, "authentication");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .POST("/admin/v1/plans", this::create)
        .GET("/admin/v1/plans", this::list)
        .GET("/admin/v1/plans/{id}", this::get)
        .PUT("/admin/v1/plans/{id}", this::replace)
        .DELETE("/admin/v1/plans/{id}", this::delete)
        .build();
  }

  private Principal caller(ServerRequest request, Role role) {
    return authentication.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), role);
  }

  private Mono<ServerResponse> create(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      return body(request).flatMap(json -> {
        JsonNode id = json.path("id");
        if (!id.isString()) {
          return Mono.error(OpenAiException.invalidRequest("'id' is required: the plan's name.",
              "id"));
        }
        Plan plan = PlanJson.read(id.asString(), json, 1);
        PlanOffer offer = offer(json).orElse(PlanOffer.NONE);
        return run(HttpStatus.CREATED, () -> withOffer(plans.create(plan, offer, caller), offer));
      });
    });
  }

  private Mono<ServerResponse> replace(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String id = request.pathVariable("id");
      return body(request).flatMap(json -> {
        if (json.has("id") && !id.equals(json.path("id").asString(""))) {
          return Mono.error(OpenAiException.invalidRequest("'id' differs from the path's plan '"
              + id + "'; a plan cannot be renamed.", "id"));
        }
        Plan plan = PlanJson.read(id, json, 1);
        Optional<PlanOffer> offer = offer(json);
        return run(HttpStatus.OK, () -> {
          Plan replaced = plans.replace(plan, offer, caller);
          return withOffer(replaced, plans.offer(id).orElse(PlanOffer.NONE));
        });
      });
    });
  }

  private Mono<ServerResponse> delete(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String id = request.pathVariable("id");
      return run(HttpStatus.OK, () -> {
        plans.delete(id, caller);
        return PlanJson.JSON.createObjectNode().put("id", id).put("object", "plan")
            .put("deleted", true);
      });
    });
  }

  private Mono<ServerResponse> list(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      return run(HttpStatus.OK, () -> {
        Map<String, PlanOffer> offers = plans.offers();
        ArrayNode data = PlanJson.JSON.createArrayNode();
        plans.plans().stream()
            .filter(p -> visible(caller, p.id(), offers.getOrDefault(p.id(), PlanOffer.NONE)))
            .forEach(p -> data.add(caller.role() == Role.PLATFORM_ADMIN
                ? withOffer(p, offers.getOrDefault(p.id(), PlanOffer.NONE)) : PlanJson.write(p)));
        ObjectNode list = PlanJson.JSON.createObjectNode().put("object", "list");
        list.set("data", data);
        return list;
      });
    });
  }

  private Mono<ServerResponse> get(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      String id = request.pathVariable("id");
      return run(HttpStatus.OK, () -> {
        Optional<Plan> plan = plans.plan(id);
        PlanOffer offer = plans.offer(id).orElse(PlanOffer.NONE);
        if (plan.isEmpty() || !visible(caller, id, offer)) {
          throw new ApiKeys.Refused("no plan '" + id + "'");
        }
        return caller.role() == Role.PLATFORM_ADMIN ? withOffer(plan.get(), offer)
            : PlanJson.write(plan.get());
      });
    });
  }

  /** Whether {@code caller} may see plan {@code id}: offered to its tenant, or its tenant's. */
  private static boolean visible(Principal caller, String id, PlanOffer offer) {
    return caller.role() == Role.PLATFORM_ADMIN || offer.offeredTo(caller.tenantId())
        || caller.tenantPlan().filter(id::equals).isPresent();
  }

  private static ObjectNode withOffer(Plan plan, PlanOffer offer) {
    ObjectNode json = PlanJson.write(plan);
    if (offer.all()) {
      json.put("offered_to", "all");
    } else {
      ArrayNode tenants = json.putArray("offered_to");
      offer.tenants().stream().sorted().forEach(tenants::add);
    }
    return json;
  }

  /** The body's {@code offered_to}: {@code "all"}, a list of tenant ids, or null for none. */
  static Optional<PlanOffer> offer(JsonNode json) {
    JsonNode value = json.path("offered_to");
    if (value.isMissingNode()) {
      return Optional.empty();
    }
    if (value.isNull()) {
      return Optional.of(PlanOffer.NONE);
    }
    if (value.isString() && value.asString().equals("all")) {
      return Optional.of(PlanOffer.ALL);
    }
    if (value.isArray()) {
      Set<String> tenants = new LinkedHashSet<>();
      for (JsonNode t : value) {
        if (!t.isString() || !ApiKeys.validTenantId(t.asString())) {
          throw OpenAiException.invalidRequest("'offered_to' must hold tenant ids.",
              "offered_to");
        }
        tenants.add(t.asString());
      }
      if (tenants.size() > MAX_OFFERED_TENANTS) {
        throw OpenAiException.invalidRequest("'offered_to' lists more than "
            + MAX_OFFERED_TENANTS + " tenants; offer the plan to \"all\" instead.", "offered_to");
      }
      return Optional.of(new PlanOffer(false, tenants));
    }
    throw OpenAiException.invalidRequest("'offered_to' must be \"all\", a list of tenant ids or"
        + " null.", "offered_to");
  }

  /** Runs {@code work} on the blocking scheduler; a change reloads this gateway's plans. */
  private Mono<ServerResponse> run(HttpStatus status, Callable<ObjectNode> work) {
    return AdminCalls.run(blocking, status, () -> {
      ObjectNode answer = work.call();
      live.refresh();
      return answer;
    });
  }

  private static Mono<JsonNode> body(ServerRequest request) {
    return AdminCalls.body(request, PlanJson.FIELDS);
  }
}
