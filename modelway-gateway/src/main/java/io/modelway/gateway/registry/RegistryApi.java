package io.modelway.gateway.registry;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Role;
import io.modelway.gateway.auth.SharedSecret;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The registry over HTTP. Workers, with the cluster secret:
 * {@code PUT /internal/v1/instances/{id}} registers or renews (the heartbeat; idempotent, so a
 * worker re-registers by itself after a gateway restart) and {@code DELETE} deregisters.
 * Operators, with the admin key: {@code GET /admin/v1/instances}.
 */
final class RegistryApi {
  static final int MAX_BODY = 64 * 1024;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final Registry registry;
  private final SharedSecret clusterSecret;
  private final Authentication admin;
  private final Clock clock;

  RegistryApi(Registry registry, SharedSecret clusterSecret, Authentication admin, Clock clock) {
    this.registry = requireNonNull(registry, "registry");
    this.clusterSecret = requireNonNull(clusterSecret, "clusterSecret");
    this.admin = requireNonNull(admin, "admin");
    this.clock = requireNonNull(clock, "clock");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .PUT("/internal/v1/instances/{id}", this::renew)
        .DELETE("/internal/v1/instances/{id}", this::remove)
        .GET("/admin/v1/instances", this::list)
        .build();
  }

  private Mono<ServerResponse> renew(ServerRequest request) {
    return Mono.defer(() -> {
      clusterSecret.check(request.headers().firstHeader(HttpHeaders.AUTHORIZATION));
      String id = id(request);
      return request.bodyToMono(byte[].class)
          .switchIfEmpty(Mono.error(() -> OpenAiException.invalidRequest(
              "The registration body is missing.", null)))
          .map(body -> {
            if (body.length > MAX_BODY) {
              throw OpenAiException.bodyTooLarge(MAX_BODY);
            }
            return registry.renew(parse(id, body));
          })
          .flatMap(instance -> json(leaseOf(instance)));
    });
  }

  private Mono<ServerResponse> remove(ServerRequest request) {
    return Mono.defer(() -> {
      clusterSecret.check(request.headers().firstHeader(HttpHeaders.AUTHORIZATION));
      if (!registry.remove(id(request))) {
        return Mono.error(notFound(id(request)));
      }
      return ServerResponse.noContent().build();
    });
  }

  private Mono<ServerResponse> list(ServerRequest request) {
    return Mono.defer(() -> {
      admin.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), Role.PLATFORM_ADMIN);
      Instant now = clock.instant();
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      for (Instance instance : registry.instances()) {
        data.add(describe(instance, now));
      }
      return json(list);
    });
  }

  /** An instance as the admin API shows it. */
  static ObjectNode describe(Instance instance, Instant now) {
    ObjectNode node = JSON.createObjectNode()
        .put("id", instance.id())
        .put("object", "instance")
        .put("address", instance.address().toString())
        .put("health", instance.health(now).label());
    ArrayNode models = node.putArray("models");
    instance.models().forEach(m -> models.addObject().put("id", m.id()).put("state", m.state()));
    Instance.Load load = instance.load();
    node.putObject("load")
        .put("in_flight", load.inFlight())
        .put("slots", load.slots())
        .put("free_slots", load.freeSlots())
        .put("queued", load.queued())
        .put("tokens_per_second", load.tokensPerSecond());
    node.put("registered_at", instance.registeredAt().toString())
        .put("last_heartbeat_at", instance.renewedAt().toString())
        .put("lease_expires_at", instance.expiresAt().toString());
    return node;
  }

  private ObjectNode leaseOf(Instance instance) {
    long ttl = registry.leaseTtl().toMillis();
    return JSON.createObjectNode()
        .put("id", instance.id())
        .put("lease_ttl_ms", ttl)
        .put("heartbeat_interval_ms", Math.max(200, ttl / 3))
        .put("lease_expires_at", instance.expiresAt().toString());
  }

  private static String id(ServerRequest request) {
    String id = request.pathVariable("id");
    if (!ID.matcher(id).matches()) {
      throw OpenAiException.invalidRequest("Instance id '" + id + "' is not valid (expected: 1 to"
          + " 128 letters, digits, '.', '_', ':' or '-').", "id");
    }
    return id;
  }

  static Registry.Registration parse(String id, byte[] body) {
    JsonNode root = InspectedRequest.object(body);
    URI address = address(root.path("address"));
    JsonNode modelsNode = root.path("models");
    if (!modelsNode.isArray()) {
      throw OpenAiException.invalidRequest("'models' must be an array of {id, state}.", "models");
    }
    List<Instance.ServedModel> models = new ArrayList<>();
    for (JsonNode m : modelsNode) {
      if (!m.path("id").isString() || !m.path("state").isString()
          || m.path("id").asString().isEmpty()) {
        throw OpenAiException.invalidRequest(
            "Each of 'models' must be an object with string 'id' and 'state'.", "models");
      }
      models.add(new Instance.ServedModel(m.path("id").asString(), m.path("state").asString()));
    }
    JsonNode load = root.path("load");
    Instance.Load reported = load.isObject()
        ? new Instance.Load(count(load, "in_flight"), count(load, "slots"),
            count(load, "free_slots"), count(load, "queued"),
            Math.max(0, load.path("tokens_per_second").asDouble(0)))
        : Instance.Load.NONE;
    return new Registry.Registration(id, address, models, reported);
  }

  private static int count(JsonNode load, String field) {
    JsonNode value = load.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return 0;
    }
    if (!value.canConvertToInt() || value.asInt() < 0) {
      throw OpenAiException.invalidRequest("'load." + field + "' must be a count (>= 0).",
          "load." + field);
    }
    return value.asInt();
  }

  private static URI address(JsonNode node) {
    String text = node.isString() ? node.asString() : "";
    try {
      URI uri = new URI(text);
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && uri.getHost() != null && uri.getPort() > 0
          && (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/"))) {
        return URI.create(uri.getScheme() + "://" + uri.getHost() + ":" + uri.getPort());
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw OpenAiException.invalidRequest("'address' must be the worker's base URL, such as"
        + " http://10.0.0.7:8090, not '" + text + "'.", "address");
  }

  private static OpenAiException notFound(String id) {
    return new OpenAiException(404, "invalid_request_error",
        "No registered instance '" + id + "'.", "id", "instance_not_found");
  }

  private static Mono<ServerResponse> json(ObjectNode body) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
        .bodyValue(JSON.writeValueAsBytes(body));
  }
}
