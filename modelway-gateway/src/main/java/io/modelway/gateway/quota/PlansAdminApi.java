package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.ApiKeys;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
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
 * Plans over HTTP. A platform admin creates, replaces and deletes them; a tenant admin reads
 * them (they are the offer, not a tenant's data). Tenants and keys are put on a plan through the
 * tenants and keys endpoints ({@code "plan"}). The store is blocking, so each call runs on
 * {@code blocking}; a change applies to the next call on this gateway at once, on other
 * replicas within their refresh period.
 *
 * <pre>
 * POST   /admin/v1/plans        {"id", "requests_per_minute", "tokens_per_minute", "max_concurrent",
 *                                "models": [...], "model_limits": {"MODEL": {...}}}   platform admin
 * GET    /admin/v1/plans                                                              tenant admin
 * GET    /admin/v1/plans/{id}                                                         tenant admin
 * PUT    /admin/v1/plans/{id}   the same body as POST, replacing the plan whole        platform admin
 * DELETE /admin/v1/plans/{id}   409 while a tenant or key is on it                    platform admin
 * </pre>
 */
final class PlansAdminApi {
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
        return run(HttpStatus.CREATED, () -> PlanJson.write(plans.create(plan, caller)));
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
        return run(HttpStatus.OK, () -> PlanJson.write(plans.replace(plan, caller)));
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
      caller(request, Role.TENANT_ADMIN);
      return run(HttpStatus.OK, () -> {
        ArrayNode data = PlanJson.JSON.createArrayNode();
        plans.plans().forEach(p -> data.add(PlanJson.write(p)));
        ObjectNode list = PlanJson.JSON.createObjectNode().put("object", "list");
        list.set("data", data);
        return list;
      });
    });
  }

  private Mono<ServerResponse> get(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.TENANT_ADMIN);
      String id = request.pathVariable("id");
      return run(HttpStatus.OK, () -> PlanJson.write(plans.plan(id)
          .orElseThrow(() -> new ApiKeys.Refused("no plan '" + id + "'"))));
    });
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
