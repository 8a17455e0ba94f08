package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
import java.util.Optional;
import java.util.Set;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
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
 * The response cache over HTTP. A tenant admin sees and purges its own tenant's entries (unless
 * its tenant is in a shared namespace, whose entries only a platform admin purges); a platform
 * admin purges anything and puts tenants in shared namespaces. Every purge and namespace change
 * is audited.
 *
 * <pre>
 * GET    /admin/v1/cache                             where entries live, bytes held here   tenant admin
 * DELETE /admin/v1/cache?tenant=T&amp;model=M&amp;key=HASH  drops the matching entries             tenant admin
 * GET    /admin/v1/cache/namespaces                  tenants in shared namespaces          platform admin
 * PUT    /admin/v1/cache/namespaces/{tenant}         {"namespace": NAME}                   platform admin
 * DELETE /admin/v1/cache/namespaces/{tenant}         back to its own namespace             platform admin
 * </pre>
 */
final class CacheAdminApi {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final CacheStage cache;
  private final Namespaces namespaces;
  private final AuditLog audit;
  private final Authentication authentication;
  private final Scheduler blocking;

  CacheAdminApi(CacheStage cache, Namespaces namespaces, AuditLog audit,
      Authentication authentication, Scheduler blocking) {
    this.cache = requireNonNull(cache, "cache");
    this.namespaces = requireNonNull(namespaces, "namespaces");
    this.audit = requireNonNull(audit, "audit");
    this.authentication = requireNonNull(authentication, "authentication");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .GET("/admin/v1/cache", this::status)
        .DELETE("/admin/v1/cache", this::purge)
        .GET("/admin/v1/cache/namespaces", this::listNamespaces)
        .PUT("/admin/v1/cache/namespaces/{tenant}", this::share)
        .DELETE("/admin/v1/cache/namespaces/{tenant}", this::unshare)
        .build();
  }

  private Principal caller(ServerRequest request, Role role) {
    return authentication.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), role);
  }

  private Mono<ServerResponse> status(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      ObjectNode answer = JSON.createObjectNode().put("object", "cache")
          .put("mode", cache.mode())
          .put("bytes_held", cache.store().bytesHeld())
          .put("namespace", namespaces.apply(caller.tenantId()));
      return json(HttpStatus.OK, answer);
    });
  }

  private Mono<ServerResponse> purge(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.TENANT_ADMIN);
      Optional<String> tenant = request.queryParam("tenant").filter(t -> !t.isBlank())
          .map(t -> AdminCalls.name(t, "tenant"));
      Optional<String> model = request.queryParam("model").filter(m -> !m.isBlank())
          .map(m -> AdminCalls.name(m, "model"));
      Optional<String> key = request.queryParam("key").filter(k -> !k.isBlank());
      if (key.isPresent() && !CacheKey.validHash(key.get())) {
        return Mono.error(OpenAiException.invalidRequest("'key' must be the 64 hex digits of an"
            + " entry's x-modelway-cache-key header.", "key"));
      }
      if (caller.role() != Role.PLATFORM_ADMIN) {
        String own = tenant.orElse(caller.tenantId());
        if (!caller.manages(own)) {
          return Mono.error(new OpenAiException(404, "invalid_request_error",
              "No tenant '" + own + "'.", "tenant", "not_found"));
        }
        if (namespaces.apply(own).startsWith(Namespaces.SHARED)) {
          return Mono.error(new OpenAiException(403, "permission_error", "Tenant '" + own
              + "' shares its cache namespace with other tenants; only a platform admin purges it.",
              "tenant", "insufficient_role"));
        }
        tenant = Optional.of(own);
      }
      ResponseCache.Purge purge = new ResponseCache.Purge(tenant.map(namespaces), model, key);
      String target = tenant.orElse("*") + "/" + model.orElse("*") + "/" + key.orElse("*");
      return Mono.fromFuture(cache.purge(purge))
          .flatMap(purged -> Mono.fromCallable(() -> {
                audit.write(caller, "cache.purge", target, "purged " + purged);
                return purged;
              }).subscribeOn(blocking))
          .flatMap(purged -> json(HttpStatus.OK, JSON.createObjectNode()
              .put("object", "cache.purge").put("purged", purged)));
    });
  }

  private Mono<ServerResponse> listNamespaces(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.PLATFORM_ADMIN);
      ArrayNode data = JSON.createArrayNode();
      namespaces.sharedNamespaces().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
          .forEach(e -> data.add(JSON.createObjectNode().put("tenant", e.getKey())
              .put("namespace", e.getValue())));
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      list.set("data", data);
      return json(HttpStatus.OK, list);
    });
  }

  private Mono<ServerResponse> share(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String tenant = AdminCalls.name(request.pathVariable("tenant"), "tenant");
      return AdminCalls.body(request, Set.of("namespace")).flatMap(json -> {
        JsonNode name = json.path("namespace");
        if (!name.isString() || !Namespaces.validName(name.asString())) {
          return Mono.error(OpenAiException.invalidRequest("'namespace' must be 1 to 64 lower-case"
              + " letters, digits, '-', '_' or '.', starting with a letter or digit.", "namespace"));
        }
        return AdminCalls.run(blocking, HttpStatus.OK, () -> {
          namespaces.share(tenant, name.asString(), caller);
          return JSON.createObjectNode().put("object", "cache.namespace").put("tenant", tenant)
              .put("namespace", name.asString());
        });
      });
    });
  }

  private Mono<ServerResponse> unshare(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String tenant = request.pathVariable("tenant");
      return AdminCalls.run(blocking, HttpStatus.OK, () -> {
        boolean was = namespaces.unshare(tenant, caller);
        return JSON.createObjectNode().put("object", "cache.namespace").put("tenant", tenant)
            .putNull("namespace").put("changed", was);
      });
    });
  }

  private static Mono<ServerResponse> json(HttpStatus status, JsonNode body) {
    return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON)
        .bodyValue(JSON.writeValueAsBytes(body));
  }
}
