package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.modelway.backend.BackendCall;
import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.backend.BackendResponse;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The OpenAI API's request path: read the body (bounded), inspect it, resolve the model to a
 * backend, call it, and relay the answer as it arrives. Non-blocking throughout; the body is
 * forwarded byte for byte except for the model name when the catalog renames it.
 *
 * <p>The generation and embedding calls work on the bare {@link ServerHttpRequest} and {@link
 * ServerHttpResponse} ({@link DataPlane} hands them over ahead of WebFlux's dispatcher, whose
 * per-request machinery cost more than the rest of the hop); the model listing is a functional
 * route like any other.
 */
public final class OpenAiHandler {
  /** The request id header, taken from the client when well-formed, else generated. */
  public static final String REQUEST_ID = "x-request-id";

  private static final Pattern CLIENT_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final byte[] EMPTY = new byte[0];
  private static final JsonFactory JSON = new JsonFactory();

  private record MetricKey(Endpoint endpoint, String model, String backend, int status) {}

  private final LiveCatalog catalog;
  private final MeterRegistry meters;
  private final ConcurrentMap<MetricKey, Timer> timers = new ConcurrentHashMap<>();

  public OpenAiHandler(LiveCatalog catalog, MeterRegistry meters) {
    this.catalog = requireNonNull(catalog, "catalog");
    this.meters = requireNonNull(meters, "meters");
  }

  /**
   * {@code POST /v1/chat/completions}, {@code /v1/completions}, {@code /v1/embeddings}: answers
   * on {@code response}, errors included (as OpenAI error bodies).
   */
  public Mono<Void> call(Endpoint endpoint, ServerHttpRequest request, ServerHttpResponse response) {
    String requestId = requestId(request);
    response.getHeaders().set(REQUEST_ID, requestId);
    return forward(endpoint, request, response, requestId)
        .onErrorResume(failure -> OpenAiErrorHandler.write(request, response, failure));
  }

  private Mono<Void> forward(
      Endpoint endpoint, ServerHttpRequest request, ServerHttpResponse response, String requestId) {
    MediaType contentType = request.getHeaders().getContentType();
    if (contentType != null && !isJson(contentType)) {
      return Mono.error(new OpenAiException(415, "invalid_request_error",
          "Content-Type must be application/json, not " + contentType
              + " (with curl, add -H 'Content-Type: application/json').", null,
          "unsupported_media_type"));
    }
    Catalog current = catalog.current();
    int limit = (int) current.config().gateway().maxRequestBody().toBytes();
    if (request.getHeaders().getContentLength() > limit) {
      return Mono.error(OpenAiException.bodyTooLarge(limit));
    }
    long started = System.nanoTime();
    return DataBufferUtils.join(request.getBody(), limit)
        .onErrorMap(DataBufferLimitException.class, e -> OpenAiException.bodyTooLarge(limit))
        .map(OpenAiHandler::toBytes)
        .defaultIfEmpty(EMPTY)
        .flatMap(body -> {
          InspectedRequest inspected = InspectedRequest.inspect(endpoint, body);
          Catalog.Route route = current.resolve(inspected.model())
              .orElseThrow(() -> OpenAiException.modelNotFound(inspected.model()));
          BackendCall call = new BackendCall(endpoint,
              inspected.withModel(body, route.upstreamModel()), inspected.stream(), requestId);
          return route.backend().send(call)
              .doOnError(e -> record(endpoint, route, statusOf(e), started))
              .flatMap(answer -> relay(answer, response, inspected.stream(), endpoint, route, started));
        });
  }

  private Mono<Void> relay(BackendResponse answer, ServerHttpResponse response, boolean stream,
      Endpoint endpoint, Catalog.Route route, long started) {
    response.setStatusCode(HttpStatusCode.valueOf(answer.status()));
    HttpHeaders headers = response.getHeaders();
    headers.set(HttpHeaders.CONTENT_TYPE, answer.contentType());
    long length = answer.contentLength();
    if (!stream && length >= 0 && length <= OpenAiHttpBackend.WHOLE_BODY_LIMIT) {
      // One buffer, written as one full HTTP message in one system call.
      headers.setContentLength(length);
      Mono<DataBuffer> whole = answer.body()
          .collectList()
          .map(OpenAiHandler::concat)
          .doOnError(e -> record(endpoint, route, statusOf(e), started))
          .doOnSuccess(bytes -> record(endpoint, route, answer.status(), started))
          .map(bytes -> response.bufferFactory().wrap(bytes));
      return response.writeWith(whole);
    }
    AtomicBoolean relayed = new AtomicBoolean();
    Flux<byte[]> body = answer.body()
        .doOnNext(chunk -> relayed.set(true))
        .onErrorResume(e -> {
          if (!relayed.get()) {
            return Flux.error(e);
          }
          record(endpoint, route, statusOf(e), started);
          // Headers and part of the answer are out: the status cannot change any more, so a
          // stream ends with an OpenAI error event and a plain answer is cut off.
          return stream && e instanceof OpenAiException oe ? Flux.just(oe.toSseEvent()) : Flux.error(e);
        })
        .doOnComplete(() -> record(endpoint, route, answer.status(), started));
    if (stream) {
      headers.set(HttpHeaders.CACHE_CONTROL, "no-cache");
      headers.set("X-Accel-Buffering", "no");
      return response.writeAndFlushWith(
          body.map(chunk -> Mono.just(response.bufferFactory().wrap(chunk))));
    }
    if (length >= 0) {
      headers.setContentLength(length);
    }
    return response.writeWith(body.map(chunk -> response.bufferFactory().wrap(chunk)));
  }

  private static byte[] concat(java.util.List<byte[]> chunks) {
    if (chunks.size() == 1) {
      return chunks.get(0);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    chunks.forEach(out::writeBytes);
    return out.toByteArray();
  }

  /** {@code GET /v1/models}: the configured models. */
  public Mono<ServerResponse> listModels(ServerRequest request) {
    Catalog current = catalog.current();
    byte[] json = write(g -> {
      g.writeStartObject();
      g.writeStringProperty("object", "list");
      g.writeName("data");
      g.writeStartArray();
      for (String model : current.models()) {
        writeModel(g, model);
      }
      g.writeEndArray();
      g.writeEndObject();
    });
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(json);
  }

  /** {@code GET /v1/models/{id}}: one configured model, or 404. */
  public Mono<ServerResponse> getModel(ServerRequest request) {
    String id = request.pathVariable("id");
    String model = id.startsWith("/") ? id.substring(1) : id;
    if (!catalog.current().models().contains(model)) {
      return Mono.error(OpenAiException.modelNotFound(model));
    }
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
        .bodyValue(write(g -> writeModel(g, model)));
  }

  private static void writeModel(JsonGenerator g, String model) {
    g.writeStartObject();
    g.writeStringProperty("id", model);
    g.writeStringProperty("object", "model");
    g.writeNumberProperty("created", 0);
    g.writeStringProperty("owned_by", "modelway");
    g.writeEndObject();
  }

  private void record(Endpoint endpoint, Catalog.Route route, int status, long started) {
    MetricKey key = new MetricKey(endpoint, route.model(), route.backend().name(), status);
    Timer timer = timers.get(key);
    if (timer == null) {
      timer = timers.computeIfAbsent(key, k -> Timer.builder("modelway.requests")
          .description("OpenAI API calls through the gateway, by outcome")
          .tag("endpoint", k.endpoint().path().substring(1))
          .tag("model", k.model())
          .tag("backend", k.backend())
          .tag("status", Integer.toString(k.status()))
          .register(meters));
    }
    timer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
  }

  private static int statusOf(Throwable e) {
    return e instanceof OpenAiException oe ? oe.status() : 500;
  }

  private static boolean isJson(MediaType type) {
    return type.isCompatibleWith(MediaType.APPLICATION_JSON)
        || type.getSubtype().endsWith("+json");
  }

  private static String requestId(ServerHttpRequest request) {
    String given = request.getHeaders().getFirst(REQUEST_ID);
    if (given != null && CLIENT_REQUEST_ID.matcher(given).matches()) {
      return given;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "req_" + Long.toHexString(random.nextLong() | Long.MIN_VALUE)
        + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
  }

  private static byte[] toBytes(DataBuffer buffer) {
    try {
      byte[] bytes = new byte[buffer.readableByteCount()];
      buffer.read(bytes);
      return bytes;
    } finally {
      DataBufferUtils.release(buffer);
    }
  }

  private static byte[] write(Consumer<JsonGenerator> writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
      writer.accept(g);
    }
    return out.toByteArray();
  }
}
