package io.modelway.gateway.runtime;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.runtime.ModelHost;
import java.util.Locale;
import java.util.Set;
import java.util.NoSuchElementException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
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
 * Loads and unloads this process's models at runtime, with the admin key:
 * {@code GET /admin/v1/models}, {@code GET /admin/v1/models/{id}},
 * {@code POST /admin/v1/models} with {@code {"id": NAME, "source": PATH.gguf | "builtin:NAME"}}
 * (202: loading starts; poll the model until {@code ready} or {@code failed}), and
 * {@code DELETE /admin/v1/models/{id}} (202: unloading starts once its calls end).
 */
final class ModelsAdminApi {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final ModelHost models;
  private final Authentication admin;

  ModelsAdminApi(ModelHost models, Authentication admin) {
    this.models = requireNonNull(models, "models");
    this.admin = requireNonNull(admin, "admin");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .GET("/admin/v1/models", this::list)
        .GET("/admin/v1/models/{id}", this::get)
        .POST("/admin/v1/models", this::load)
        .DELETE("/admin/v1/models/{id}", this::unload)
        .build();
  }

  private Mono<ServerResponse> list(ServerRequest request) {
    return Mono.defer(() -> {
      authorize(request);
      ObjectNode list = JSON.createObjectNode().put("object", "list");
      ArrayNode data = list.putArray("data");
      models.statuses().forEach(status -> data.add(describe(status)));
      return respond(HttpStatus.OK, list);
    });
  }

  private Mono<ServerResponse> get(ServerRequest request) {
    return Mono.defer(() -> {
      authorize(request);
      String id = request.pathVariable("id");
      return models.status(id)
          .map(status -> respond(HttpStatus.OK, describe(status)))
          .orElseGet(() -> Mono.error(notFound(id)));
    });
  }

  private Mono<ServerResponse> load(ServerRequest request) {
    return Mono.defer(() -> {
      authorize(request);
      return request.bodyToMono(byte[].class)
          .switchIfEmpty(Mono.error(() -> OpenAiException.invalidRequest(
              "Send {\"id\": NAME, \"source\": PATH.gguf} to load a model.", null)))
          .flatMap(body -> {
            ModelHost.ModelSpec spec = parse(body);
            try {
              models.load(spec);
            } catch (IllegalStateException e) {
              return Mono.error(new OpenAiException(409, "invalid_request_error",
                  capitalize(e.getMessage()) + ".", "id", "model_exists"));
            }
            return respond(HttpStatus.ACCEPTED, describe(models.status(spec.name()).orElseThrow()));
          });
    });
  }

  private Mono<ServerResponse> unload(ServerRequest request) {
    return Mono.defer(() -> {
      authorize(request);
      String id = request.pathVariable("id");
      try {
        models.unload(id);
      } catch (NoSuchElementException e) {
        return Mono.error(notFound(id));
      } catch (IllegalStateException e) {
        return Mono.error(new OpenAiException(409, "invalid_request_error",
            capitalize(e.getMessage()) + ".", "id", "model_loading"));
      }
      ObjectNode gone = models.status(id).map(ModelsAdminApi::describe)
          .orElseGet(() -> JSON.createObjectNode().put("id", id).put("object", "model")
              .put("state", "unloaded"));
      return respond(HttpStatus.ACCEPTED, gone);
    });
  }

  private void authorize(ServerRequest request) {
    admin.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), Role.PLATFORM_ADMIN);
  }

  private static ModelHost.ModelSpec parse(byte[] body) {
    JsonNode root = InspectedRequest.object(body);
    AdminCalls.only(root, Set.of("id", "source"), "");
    String id = root.path("id").isString() ? root.path("id").asString().strip() : "";
    if (id.isEmpty()) {
      throw OpenAiException.invalidRequest("'id' must be the model's name.", "id");
    }
    AdminCalls.name(id, "id");
    String source = root.path("source").isString() ? root.path("source").asString().strip() : "";
    if (source.isEmpty()) {
      throw OpenAiException.invalidRequest("'source' must be a GGUF file's path (absolute, or"
          + " under DATA_DIR/models) or builtin:all-minilm-l6-v2.", "source");
    }
    return new ModelHost.ModelSpec(id, source);
  }

  static ObjectNode describe(ModelHost.Status status) {
    ObjectNode node = JSON.createObjectNode()
        .put("id", status.name())
        .put("object", "model")
        .put("source", status.spec().source())
        .put("state", status.state().name().toLowerCase(Locale.ROOT))
        .put("since", status.since().toString());
    status.error().ifPresent(error -> node.put("error", error));
    node.putObject("load")
        .put("in_flight", status.inFlight())
        .put("slots", status.load().slots())
        .put("busy", status.load().busy())
        .put("queued", status.load().queued())
        .put("tokens", status.load().tokens());
    return node;
  }

  private static OpenAiException notFound(String id) {
    return new OpenAiException(404, "invalid_request_error",
        "No model '" + id + "' in this process.", "id", "model_not_found");
  }

  private static String capitalize(String message) {
    return message.isEmpty() ? message : Character.toUpperCase(message.charAt(0)) + message.substring(1);
  }

  private static Mono<ServerResponse> respond(HttpStatus status, ObjectNode body) {
    return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON)
        .bodyValue(JSON.writeValueAsBytes(body));
  }
}
