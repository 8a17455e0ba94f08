package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.gateway.quota.Admission;
import io.modelway.gateway.registry.Instance;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.gateway.routing.UpstreamModels;
import io.modelway.openai.OpenAiException;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * {@code GET /v1/models} and {@code GET /v1/models/{id}}: what the caller can call. The listing
 * holds the models {@link ModelRouter#models()} knows (configured, aliases, local, on workers)
 * and, for each configured backend, the models of its own list ({@link UpstreamModels}) as
 * {@code BACKEND/MODEL}; all filtered by the caller's key and plans, so a key never learns of a
 * model it could not call. {@code GET /v1/models/{id}} also answers any {@code BACKEND/MODEL} the
 * chat endpoint accepts, listed upstream or not. Thread-safe.
 */
public final class ModelsApi {
  /** How long a listing waits for a backend's first model list before leaving it out. */
  public static final Duration FIRST_FETCH_WAIT = Duration.ofSeconds(2);
  /** {@code owned_by} of a model the gateway itself resolves (not a pass-through). */
  static final String GATEWAY_OWNER = "modelway";

  private static final JsonFactory JSON = new JsonFactory();

  private final LiveCatalog catalog;
  private final ModelRouter router;
  private final Authentication authentication;
  private final Admission admission;
  private final UpstreamModels upstream;
  private final Duration firstWait;

  public ModelsApi(LiveCatalog catalog, ModelRouter router, Authentication authentication,
      Admission admission, UpstreamModels upstream, Duration firstWait) {
    this.catalog = requireNonNull(catalog, "catalog");
    this.router = requireNonNull(router, "router");
    this.authentication = requireNonNull(authentication, "authentication");
    this.admission = requireNonNull(admission, "admission");
    this.upstream = requireNonNull(upstream, "upstream");
    this.firstWait = requireNonNull(firstWait, "firstWait");
  }

  /** {@code GET /v1/models}: every model the caller can call by name; see the class comment. */
  public Mono<ServerResponse> listModels(ServerRequest request) {
    Predicate<String> callable = callable(principal(request));
    Catalog current = catalog.current();
    List<ModelRouter.Listed> models = router.models().stream()
        .filter(m -> callable.test(m.id())).toList();
    return Mono.fromCompletionStage(upstream.lists(current, firstWait)).map(lists -> {
      Instant now = router.clock().instant();
      Set<String> seen = new HashSet<>();
      byte[] json = write(g -> {
        g.writeStartObject();
        g.writeStringProperty("object", "list");
        g.writeName("data");
        g.writeStartArray();
        for (ModelRouter.Listed model : models) {
          seen.add(model.id());
          writeModel(g, model, now);
        }
        for (UpstreamModels.Listing listing : lists) {
          for (String model : listing.models()) {
            String id = listing.backend() + "/" + model;
            if (callable.test(id) && seen.add(id)) {
              writePassThrough(g, id, listing.backend(), Optional.of(listing.stale()));
            }
          }
        }
        g.writeEndArray();
        g.writeEndObject();
      });
      return json;
    }).flatMap(json -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(json));
  }

  /**
   * {@code GET /v1/models/{id}}: one model the caller can call, a {@code BACKEND/MODEL}
   * included; else 404 {@code model_not_found} saying what the caller could call instead.
   */
  public Mono<ServerResponse> getModel(ServerRequest request) {
    Principal principal = principal(request);
    Predicate<String> callable = callable(principal);
    String id = request.pathVariable("id");
    String name = id.startsWith("/") ? id.substring(1) : id;
    Catalog current = catalog.current();
    Optional<ModelRouter.Listed> listed = router.model(name).filter(m -> callable.test(m.id()));
    Instant now = router.clock().instant();
    if (listed.isPresent()) {
      return ok(write(g -> writeModel(g, listed.get(), now)));
    }
    Optional<Catalog.Route> passThrough = current.resolvePrefixed(name)
        .filter(route -> callable.test(name));
    if (passThrough.isPresent()) {
      String backend = name.substring(0, name.indexOf('/'));
      return ok(write(g -> writePassThrough(g, name, backend, Optional.empty())));
    }
    return Mono.error(notFound(name, current, router, upstream.known(), callable));
  }

  /**
   * The {@code model_not_found} of {@code model} for a caller who may call what
   * {@code callable} accepts, with a hint of what to call instead.
   */
  static OpenAiException notFound(String model, Catalog current, ModelRouter router,
      Map<String, List<String>> upstreamLists, Predicate<String> callable) {
    List<String> names = router.models().stream().map(ModelRouter.Listed::id)
        .filter(callable).toList();
    return OpenAiException.modelNotFound(model,
        ModelHints.hint(model, names, current.backends(), upstreamLists, callable));
  }

  /** Whether a caller may call a model: by its key's list and by its plans'. */
  Predicate<String> callable(Principal principal) {
    return model -> principal.allows(model) && admission.allows(principal, model);
  }

  private Principal principal(ServerRequest request) {
    return authentication.authenticate(
        request.headers().firstHeader(HttpHeaderNames.AUTHORIZATION.toString()));
  }

  private static Mono<ServerResponse> ok(byte[] json) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(json);
  }

  /**
   * A {@code BACKEND/MODEL} entry: owned by its backend. {@code stale} is present when it comes
   * from the backend's list (true when that list is past its time or its refresh failed).
   */
  private static void writePassThrough(JsonGenerator g, String id, String backend,
      Optional<Boolean> stale) {
    g.writeStartObject();
    g.writeStringProperty("id", id);
    g.writeStringProperty("object", "model");
    g.writeNumberProperty("created", 0);
    g.writeStringProperty("owned_by", backend);
    g.writeName("modelway");
    g.writeStartObject();
    g.writeStringProperty("source", "backend");
    g.writeStringProperty("backend", backend);
    stale.ifPresent(s -> g.writeBooleanProperty("stale", s));
    g.writeEndObject();
    g.writeEndObject();
  }

  private static void writeModel(JsonGenerator g, ModelRouter.Listed model, Instant now) {
    g.writeStartObject();
    g.writeStringProperty("id", model.id());
    g.writeStringProperty("object", "model");
    g.writeNumberProperty("created", 0);
    g.writeStringProperty("owned_by", GATEWAY_OWNER);
    g.writeName("modelway");
    g.writeStartObject();
    g.writeStringProperty("source", model.source().label());
    model.local().ifPresent(status ->
        g.writeStringProperty("state", status.state().name().toLowerCase(Locale.ROOT)));
    model.alias().ifPresent(entry -> {
      g.writeName("targets");
      g.writeStartArray();
      for (ModelwayConfig.Target target : entry.alias().targets()) {
        g.writeStartObject();
        g.writeStringProperty("model", target.model());
        g.writeNumberProperty("weight", target.weight());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringProperty("sticky", entry.alias().sticky().label());
      g.writeStringProperty("set_by", entry.source().label());
    });
    if (model.source() == ModelRouter.Source.WORKERS) {
      g.writeName("instances");
      g.writeStartArray();
      for (Instance instance : model.instances()) {
        g.writeStartObject();
        g.writeStringProperty("id", instance.id());
        g.writeStringProperty("address", instance.address().toString());
        g.writeStringProperty("health", instance.health(now).label());
        instance.models().stream().filter(m -> m.id().equals(model.id())).findFirst()
            .ifPresent(m -> g.writeStringProperty("state", m.state()));
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    g.writeEndObject();
    g.writeEndObject();
  }

  private static byte[] write(Consumer<JsonGenerator> writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
      writer.accept(g);
    }
    return out.toByteArray();
  }
}
