package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.ApiKeys;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
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
 * Aliases over HTTP: a platform admin sets an alias's targets and weights at runtime (a
 * blue-green switch, a canary's next step), overriding the config's alias of that name until
 * the override is cleared; a tenant admin reads them. A change applies to the next call on this
 * gateway at once, on other replicas within their refresh period; calls already resolved finish
 * on their target. The store is blocking, so each call runs on {@code blocking}.
 *
 * <pre>
 * GET    /admin/v1/aliases          every alias in force, with its source     tenant admin
 * GET    /admin/v1/aliases/{name}                                             tenant admin
 * PUT    /admin/v1/aliases/{name}   {"targets": [{"model", "weight"}], "sticky", "session_header"}
 *                                   sets the override                          platform admin
 * DELETE /admin/v1/aliases/{name}   clears the override: the config's alias, if any, is back
 *                                                                              platform admin
 * </pre>
 */
final class AliasesAdminApi {
  private static final Set<String> FIELDS = Set.of("targets", "sticky", "session_header");
  private static final Set<String> TARGET_FIELDS = Set.of("model", "weight");
  private final AliasOverrides store;
  private final LiveAliases live;
  private final Supplier<Catalog> catalog;
  private final Function<String, Optional<String>> unavailable;
  private final Authentication authentication;
  private final Scheduler blocking;

  /**
   * @param unavailable why a model cannot take calls now (no such model, not ready), or empty
   *     when it can: a switch to it is refused until it can
   */
  AliasesAdminApi(AliasOverrides store, LiveAliases live, Supplier<Catalog> catalog,
      Function<String, Optional<String>> unavailable, Authentication authentication,
      Scheduler blocking) {
    this.store = requireNonNull(store, "store");
    this.live = requireNonNull(live, "live");
    this.catalog = requireNonNull(catalog, "catalog");
    this.unavailable = requireNonNull(unavailable, "unavailable");
    this.authentication = requireNonNull(authentication, "authentication");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .GET("/admin/v1/aliases", this::list)
        .GET("/admin/v1/aliases/{name}", this::get)
        .PUT("/admin/v1/aliases/{name}", this::set)
        .DELETE("/admin/v1/aliases/{name}", this::clear)
        .build();
  }

  private Principal caller(ServerRequest request, Role role) {
    return authentication.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), role);
  }

  private Mono<ServerResponse> list(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.TENANT_ADMIN);
      return AdminCalls.run(blocking, HttpStatus.OK, () -> {
        ArrayNode data = AliasOverrides.JSON.createArrayNode();
        live.all(catalog.get()).forEach(e -> data.add(json(e)));
        ObjectNode list = AliasOverrides.JSON.createObjectNode().put("object", "list");
        list.set("data", data);
        return list;
      });
    });
  }

  private Mono<ServerResponse> get(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.TENANT_ADMIN);
      String name = request.pathVariable("name");
      return AdminCalls.run(blocking, HttpStatus.OK, () -> json(entry(name)
          .orElseThrow(() -> new ApiKeys.Refused("no alias '" + name + "'"))));
    });
  }

  private Mono<ServerResponse> set(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String name = AdminCalls.name(request.pathVariable("name"), "name");
      return AdminCalls.body(request, FIELDS).flatMap(json -> {
        ModelwayConfig.Alias alias = read(name, json);
        return AdminCalls.run(blocking, HttpStatus.OK, () -> {
          check(alias);
          store.set(alias, caller);
          refresh();
          return json(entry(name).orElseThrow());
        });
      });
    });
  }

  private Mono<ServerResponse> clear(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String name = request.pathVariable("name");
      return AdminCalls.run(blocking, HttpStatus.OK, () -> {
        if (!store.clear(name, caller)) {
          throw new ApiKeys.Refused("no override of alias '" + name + "'");
        }
        refresh();
        ObjectNode answer = AliasOverrides.JSON.createObjectNode().put("id", name)
            .put("object", "model.alias").put("override_cleared", true);
        entry(name).ifPresent(e -> answer.set("now", json(e)));
        return answer;
      });
    });
  }

  private void refresh() {
    live.replace(store.all());
  }

  private Optional<LiveAliases.Entry> entry(String name) {
    return live.all(catalog.get()).stream().filter(e -> e.alias().name().equals(name)).findFirst();
  }

  /** Refuses an alias that would shadow a model, chain aliases, or send calls nowhere. */
  private void check(ModelwayConfig.Alias alias) {
    Catalog current = catalog.get();
    if (current.pool(alias.name()).isPresent()) {
      throw new ApiKeys.Refused("'" + alias.name() + "' is a configured model; an alias needs a"
          + " name no model has");
    }
    List<LiveAliases.Entry> all = live.all(current);
    for (LiveAliases.Entry other : all) {
      if (other.alias().targets().stream().anyMatch(t -> t.model().equals(alias.name()))) {
        throw new ApiKeys.Refused("'" + alias.name() + "' is a target of alias '"
            + other.alias().name() + "'; aliases do not chain");
      }
    }
    for (int j = 0; j < alias.targets().size(); j++) {
      ModelwayConfig.Target target = alias.targets().get(j);
      if (live.find(current, target.model()).isPresent()) {
        throw OpenAiException.invalidRequest("targets[" + j + "].model: '" + target.model()
            + "' is an alias (expected: a concrete model; aliases do not chain).", "targets");
      }
      if (target.weight() > 0) {
        Optional<String> why = unavailable.apply(target.model());
        if (why.isPresent()) {
          throw OpenAiException.invalidRequest("targets[" + j + "].model: '" + target.model()
              + "' cannot take calls: " + why.get() + " (expected: a model served here).",
              "targets");
        }
      }
    }
  }

  /** The alias {@code name} a PUT body describes; a 400 naming the field when it is invalid. */
  static ModelwayConfig.Alias read(String name, JsonNode json) {
    JsonNode targets = json.path("targets");
    if (!targets.isArray()) {
      throw OpenAiException.invalidRequest("'targets' is required: a list of {\"model\","
          + " \"weight\"}.", "targets");
    }
    try {
      List<ModelwayConfig.Target> list = new ArrayList<>();
      for (int j = 0; j < targets.size(); j++) {
        JsonNode t = targets.get(j);
        if (t.isObject()) {
          AdminCalls.only(t, TARGET_FIELDS, "targets[" + j + "].");
        }
        JsonNode weight = t.path("weight");
        if (!t.path("model").isString() || !(weight.isMissingNode() || weight.isInt())) {
          throw new IllegalArgumentException("targets[" + j + "]: " + t
              + " (expected: {\"model\": NAME, \"weight\": 0 to 1000})");
        }
        list.add(new ModelwayConfig.Target(t.path("model").asString(),
            weight.isMissingNode() ? 1 : weight.asInt()));
      }
      String sticky = json.path("sticky").asString("none");
      ModelwayConfig.Sticky mode;
      try {
        mode = ModelwayConfig.Sticky.valueOf(sticky.toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("sticky: '" + sticky
            + "' (expected: one of none, key, session)");
      }
      return new ModelwayConfig.Alias(name, list, mode,
          json.path("session_header").asString("x-session-id"));
    } catch (IllegalArgumentException e) {
      String message = e.getMessage();
      String param = message.contains(":") ? message.substring(0, message.indexOf(':')) : null;
      throw OpenAiException.invalidRequest(message + ".", param);
    }
  }

  private static ObjectNode json(LiveAliases.Entry entry) {
    ObjectNode node = AliasOverrides.json(entry.alias());
    node.put("source", entry.source().label());
    entry.configured().ifPresent(c -> node.set("config", AliasOverrides.json(c)));
    return node;
  }
}
