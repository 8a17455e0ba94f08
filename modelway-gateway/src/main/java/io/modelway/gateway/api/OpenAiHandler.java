package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.modelway.backend.BackendCall;
import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.backend.BackendResponse;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.cache.Answers;
import io.modelway.gateway.cache.CacheStage;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.quota.Admission;
import io.modelway.gateway.usage.Accounting;
import io.modelway.gateway.catalog.LiveAliases;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.resilience.StreamSplice;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.gateway.scheduling.Schedule;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.io.ByteArrayOutputStream;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The OpenAI API's request path: read the body (bounded), inspect it, resolve the model to a
 * backend, call it, and relay the answer as it arrives. Non-blocking throughout; the body is
 * forwarded byte for byte except for the model name when the catalog renames it.
 *
 * <p>The generation and embedding calls are Reactor Netty routes ({@link DataPlane}), ahead of
 * WebFlux, whose per-request adaptation cost more than the rest of the hop; the model listing is
 * a WebFlux functional route like any other.
 */
public final class OpenAiHandler {
  private static final Logger log = LoggerFactory.getLogger(OpenAiHandler.class);
  /** The request id header, taken from the client when well-formed, else generated. */
  public static final String REQUEST_ID = "x-request-id";

  private static final Pattern CLIENT_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final byte[] EMPTY = new byte[0];
  private static final JsonFactory JSON = new JsonFactory();
  /** The largest unstreamed answer relayed (embeddings of many inputs are the big ones). */
  static final int MAX_WHOLE_ANSWER = 64 * 1024 * 1024;
  /** The status a request is recorded with when its client went away (nginx's convention). */
  static final int CLIENT_CLOSED = 499;
  /** The response header naming the model that answered in place of the one asked for. */
  public static final String FALLBACK_HEADER = "x-modelway-fallback";
  /** The backend an answer from the response cache is recorded under. */
  static final String CACHE = "cache";
  /**
   * The concrete model that served a call: an alias's chosen target, else the model asked for.
   */
  public static final String MODEL_HEADER = "x-modelway-model";

  /**
   * Reactor Netty (1.3.8) signals a body's timeout to its reader twice, the second time when the
   * connection ends, and Reactor logs that second one as an error dropped: one ERROR line per
   * connection of a slow-body flood. Here it goes to the debug log; any other dropped error is
   * logged as Reactor would.
   */
  static final Context BODY_TIMEOUT_DROPPED = Context.of("reactor.onErrorDropped.local",
      (Consumer<Throwable>) e -> {
        if (OpenAiErrorHandler.isBodyTimeout(e)) {
          log.debug("A request body's timeout, signalled again as its connection closed", e);
        } else {
          log.error("Operator called default onErrorDropped", e);
        }
      });

  private record MetricKey(Endpoint endpoint, String model, String backend, int status) {}

  private final LiveCatalog catalog;
  private final LiveAliases aliases;
  private final ModelRouter router;
  private final Authentication authentication;
  private final Accounting accounting;
  private final Admission admission;
  private final CacheStage cache;
  private final Schedule schedule;
  private final MeterRegistry meters;
  private final ConcurrentMap<MetricKey, Timer> timers = new ConcurrentHashMap<>();

  public OpenAiHandler(LiveCatalog catalog, LiveAliases aliases, ModelRouter router,
      Authentication authentication, Admission admission, CacheStage cache, Accounting accounting,
      Schedule schedule, MeterRegistry meters) {
    this.aliases = requireNonNull(aliases, "aliases");
    this.accounting = requireNonNull(accounting, "accounting");
    this.schedule = requireNonNull(schedule, "schedule");
    this.admission = requireNonNull(admission, "admission");
    this.cache = requireNonNull(cache, "cache");
    this.catalog = requireNonNull(catalog, "catalog");
    this.router = requireNonNull(router, "router");
    this.authentication = requireNonNull(authentication, "authentication");
    this.meters = requireNonNull(meters, "meters");
  }

  /**
   * {@code POST /v1/chat/completions}, {@code /v1/completions}, {@code /v1/embeddings}: answers
   * on {@code response}, errors included (as OpenAI error bodies).
   */
  public Mono<Void> call(Endpoint endpoint, HttpServerRequest request, HttpServerResponse response) {
    String requestId = requestId(request.requestHeaders().get(REQUEST_ID));
    response.header(REQUEST_ID, requestId);
    AtomicBoolean bodyRead = new AtomicBoolean();
    return forward(endpoint, request, response, requestId, bodyRead)
        .onErrorResume(failure -> {
          if (response.hasSentHeaders()) {
            return Mono.error(failure);
          }
          OpenAiException error = OpenAiErrorHandler.toOpenAi(
              request.method().name(), request.fullPath(), failure, requestId);
          byte[] json = error.toJson();
          HttpHeaders headers = response.responseHeaders();
          headers.clear();
          headers.set(REQUEST_ID, requestId);
          headers.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
          headers.set(HttpHeaderNames.CONTENT_LENGTH, json.length);
          error.retryAfter().ifPresent(value -> headers.set(HttpHeaderNames.RETRY_AFTER, value));
          error.headers().forEach(headers::set);
          Mono<Void> answer = response.status(error.status()).sendByteArray(Mono.just(json)).then();
          // Refused before its body was read (no key, wrong content type): read the body away
          // first, so the connection is clean for the client's next request (a body left
          // unread held that request up). A body declared too large is not read at all, nor one
          // that stopped arriving (408: its connection is being closed).
          return bodyRead.get() || error.status() == 413 || error.status() == 408 ? answer
              : discardBody(request, response).then(answer);
        });
  }

  /**
   * Reads and drops the request body, up to the largest body the gateway accepts; past that the
   * connection is closed after the answer instead of being read further.
   */
  private Mono<Void> discardBody(HttpServerRequest request, HttpServerResponse response) {
    long limit = catalog.current().config().gateway().maxRequestBody().toBytes();
    AtomicLong seen = new AtomicLong();
    return request.receive()
        .takeWhile(buffer -> seen.addAndGet(buffer.readableBytes()) <= limit)
        .then()
        .onErrorResume(e -> Mono.empty())
        .doFinally(signal -> {
          if (seen.get() > limit) {
            response.keepAlive(false);
          }
        });
  }

  private Mono<Void> forward(Endpoint endpoint, HttpServerRequest request,
      HttpServerResponse response, String requestId, AtomicBoolean bodyRead) {
    Principal principal;
    try {
      principal = authentication.authenticate(
          request.requestHeaders().get(HttpHeaderNames.AUTHORIZATION));
    } catch (OpenAiException e) {
      accounting.refused(requestId, e.status(), e.getMessage());
      return Mono.error(e);
    }
    Accounting.Account account = accounting.open(principal, requestId, endpoint);
    return forward(endpoint, request, response, requestId, principal, account, bodyRead)
        .doOnError(e -> account.failed(statusOf(e), e))
        .doOnCancel(() -> account.ended(CLIENT_CLOSED, "cancelled"));
  }

  private Mono<Void> forward(Endpoint endpoint, HttpServerRequest request,
      HttpServerResponse response, String requestId, Principal principal,
      Accounting.Account account, AtomicBoolean bodyRead) {
    String contentType = request.requestHeaders().get(HttpHeaderNames.CONTENT_TYPE);
    if (contentType != null && !isJson(contentType)) {
      return Mono.error(new OpenAiException(415, "invalid_request_error",
          "Content-Type must be application/json, not " + contentType
              + " (with curl, add -H 'Content-Type: application/json').", null,
          "unsupported_media_type"));
    }
    Catalog current = catalog.current();
    int limit = (int) current.config().gateway().maxRequestBody().toBytes();
    String declared = request.requestHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
    if (declared != null && parseLong(declared) > limit) {
      return Mono.error(OpenAiException.bodyTooLarge(limit));
    }
    long started = System.nanoTime();
    return request.receive().asByteArray()
        .collect(ByteArrayOutputStream::new, (out, chunk) -> {
          if (out.size() + chunk.length > limit) {
            throw OpenAiException.bodyTooLarge(limit);
          }
          out.writeBytes(chunk);
        })
        .contextWrite(BODY_TIMEOUT_DROPPED)
        .flatMap(buffer -> {
          bodyRead.set(true);
          byte[] body = buffer.toByteArray();
          InspectedRequest asked = InspectedRequest.inspect(endpoint, body);
          account.model(asked.model());
          if (!principal.allows(asked.model())) {
            throw notFound(current, principal, asked.model());
          }
          // Resolve: an alias becomes one of its targets, the concrete model whose limits,
          // cache entries, queue, price and ledger rows the call counts under.
          LiveAliases.Choice choice = aliases.choose(current, asked.model(), principal.keyId(),
              request.requestHeaders()::get);
          InspectedRequest inspected = choice.alias().isEmpty() ? asked
              : asked.naming(choice.model());
          account.model(inspected.model());
          List<String> fallbacks = current.pool(inspected.model())
              .map(Catalog.Pool::fallbacks).orElse(List.of());
          Catalog.Route resolved;
          OpenAiException down = null;
          try {
            resolved = router.resolve(current, inspected.model())
                .orElseThrow(() -> choice.alias().isEmpty()
                    ? notFound(current, principal, asked.model())
                    : new OpenAiException(503, "service_unavailable", "Model '" + asked.model()
                        + "' is an alias of '" + choice.model() + "', which is not served here.",
                        null, "model_unavailable"));
            account.backend(resolved.backend().name());
            response.header(MODEL_HEADER, resolved.model());
          } catch (OpenAiException e) {
            if (e.status() != 503 || fallbacks.isEmpty()) {
              throw e;
            }
            resolved = null; // no instance of it is ready: its fallbacks answer
            down = e;
          }
          Catalog.Route route = resolved;
          OpenAiException unavailable = down;
          return Mono.fromFuture(onRequestLoop(request,
                  admission.admit(principal, asked.model(), inspected, body, fallbacks)))
              .flatMap(ticket -> {
                // What the model gets: a call held to a hard quota carries the max_tokens its
                // reservation counted on.
                byte[] sent = ticket.bodyToSend(body);
                Invocation invocation = new Invocation(current, sent, inspected, principal,
                    request, response, requestId, started, account, fallbacks);
                account.promptEstimate(() -> ticket.estimatedPrompt()
                    .orElseGet(() -> admission.estimatePrompt(inspected, body)));
                account.onEnd(r -> ticket.settle(r.promptTokens() + r.completionTokens(),
                    r.costNanos().orElse(0), r.currency()));
                ticket.headers().forEach(response::header);
                if (route == null) {
                  return fallback(invocation, 0, requireNonNull(unavailable));
                }
                // The body as the client sent it (capped above), renamed to the upstream name.
                BackendCall call = new BackendCall(endpoint,
                    asked.withModel(sent, route.upstreamModel()), inspected.stream(),
                    requestId, request.requestHeaders()::get);
                Optional<CacheStage.Call> cached = cache.open(principal, current, route,
                    inspected, sent, request.requestHeaders().get(HttpHeaderNames.CACHE_CONTROL));
                if (cached.isEmpty()) {
                  return withFallbacks(invocation, invoke(call, principal, response, inspected,
                      route, started, account, null));
                }
                CacheStage.Call entry = cached.get();
                response.header(CacheStage.KEY_HEADER, entry.key().hash());
                return Mono.fromFuture(onRequestLoop(request, entry.lookup()))
                    .flatMap(found -> {
                      if (found.isPresent()) {
                        found.get().similarity().ifPresent(similarity -> response
                            .header(CacheStage.SIMILARITY_HEADER, String.format(
                                Locale.ROOT, "%.4f", similarity)));
                        account.cacheHit(entry.policy().answerNanos(), entry.policy().currency());
                        return answerFromCache(found.get().answer(),
                            found.get().similarity().isPresent() ? "semantic-hit" : "hit",
                            response, inspected, route, started, account);
                      }
                      response.header(CacheStage.RESULT_HEADER, "miss");
                      return withFallbacks(invocation, invoke(call, principal, response,
                          inspected, route, started, account, entry))
                          .onErrorResume(e -> staleOr(e, entry, response, inspected, route,
                              started, account))
                          .doFinally(signal -> entry.ended());
                    });
              });
        });
  }

  /**
   * The Schedule and Invoke stages: the backend's answer, relayed (and kept by {@code cached},
   * if given). A model whose instances have limits of calls at once waits in the schedule for a
   * free slot, by priority and fair share; any other goes straight to its backend.
   */
  private Mono<Void> invoke(BackendCall call, Principal principal, HttpServerResponse response,
      InspectedRequest inspected, Catalog.Route route, long started, Accounting.Account account,
      CacheStage.@Nullable Call cached) {
    Endpoint endpoint = inspected.endpoint();
    return schedule.send(route, principal, call)
        .doOnError(e -> record(endpoint, route.model(), route.backend().name(), statusOf(e), started))
        .flatMap(answer -> relay(answer, response, inspected.stream(), endpoint, route,
            started, account, cached));
  }

  /** What a request's fallbacks need to call another model in its place. */
  private record Invocation(Catalog current, byte[] body, InspectedRequest inspected,
      Principal principal, HttpServerRequest request, HttpServerResponse response,
      String requestId, long started, Accounting.Account account, List<String> fallbacks) {}

  /** {@code primary}, then the model's fallbacks in order while each fails before answering. */
  private Mono<Void> withFallbacks(Invocation invocation, Mono<Void> primary) {
    if (invocation.fallbacks().isEmpty()) {
      return primary;
    }
    return primary.onErrorResume(e -> fallback(invocation, 0, e));
  }

  /**
   * The fallback chain from its {@code index}-th model, after a failure (the model asked for, or
   * the fallback before, failed before a byte went to the client, or has no instance ready): the
   * next fallback answers, with its own route, queue and upstream name, and the answer says so
   * ({@value #FALLBACK_HEADER}), as does the ledger (its record's served model). A 4xx is the
   * caller's and ends the chain; past its end the client gets a 503 naming what failed.
   */
  private Mono<Void> fallback(Invocation invocation, int index, Throwable failure) {
    HttpServerResponse response = invocation.response();
    if (response.hasSentHeaders()
        || (failure instanceof OpenAiException oe && oe.status() < 500)) {
      return Mono.error(failure);
    }
    InspectedRequest inspected = invocation.inspected();
    List<String> chain = invocation.fallbacks();
    if (index == chain.size()) {
      return Mono.error(new OpenAiException(503, "service_unavailable", "Model '"
          + inspected.model() + "' and its fallbacks " + String.join(", ", chain)
          + " could not answer; the last failure: " + failure.getMessage(), null,
          "model_unavailable"));
    }
    String model = chain.get(index);
    Catalog.Route route;
    try {
      route = router.resolve(invocation.current(), model)
          .orElseThrow(() -> OpenAiException.modelNotFound(model));
    } catch (OpenAiException e) {
      return fallback(invocation, index + 1, e.status() == 404 ? failure : e);
    }
    Accounting.Account account = invocation.account();
    account.backend(route.backend().name());
    account.servedModel(model);
    response.header(FALLBACK_HEADER, model);
    BackendCall call = new BackendCall(inspected.endpoint(),
        inspected.withModel(invocation.body(), route.upstreamModel()), inspected.stream(),
        invocation.requestId(), invocation.request().requestHeaders()::get);
    // A fallback's answer is not cached under the key of the model asked for.
    return invoke(call, invocation.principal(), response, inspected, route, invocation.started(),
        account, null)
        .onErrorResume(e -> fallback(invocation, index + 1, e));
  }

  /**
   * When the model (and its fallbacks) failed to answer — 502, 503 or 504, before anything was
   * sent — the answer kept past its TTL for {@code stale-if-error}, if there is one; else the
   * failure.
   */
  private Mono<Void> staleOr(Throwable failure, CacheStage.Call entry,
      HttpServerResponse response, InspectedRequest inspected, Catalog.Route route,
      long started, Accounting.Account account) {
    int status = statusOf(failure);
    Optional<byte[]> stale = entry.stale();
    if (stale.isEmpty() || response.hasSentHeaders()
        || (status != 502 && status != 503 && status != 504)) {
      return Mono.error(failure);
    }
    entry.servedStale();
    account.cacheHit(entry.policy().answerNanos(), entry.policy().currency());
    return answerFromCache(stale.get(), "stale", response, inspected, route, started, account);
  }

  /** A cached answer: whole, or replayed as the chunks a model would stream. */
  private Mono<Void> answerFromCache(byte[] whole, String result, HttpServerResponse response,
      InspectedRequest inspected, Catalog.Route route, long started, Accounting.Account account) {
    Endpoint endpoint = inspected.endpoint();
    byte[] bytes;
    if (inspected.stream()) {
      bytes = Answers.replay(endpoint, whole, inspected.includeUsage());
      account.events(bytes);
    } else {
      bytes = whole;
      account.whole(bytes);
    }
    return Mono.fromFuture(account.completed(200)).then(Mono.defer(() -> {
      record(endpoint, route.model(), CACHE, 200, started);
      response.status(200).header(CacheStage.RESULT_HEADER, result)
          .header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(bytes.length));
      if (inspected.stream()) {
        response.header(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
            .header(HttpHeaderNames.CACHE_CONTROL, "no-cache");
      } else {
        response.header(HttpHeaderNames.CONTENT_TYPE, "application/json");
      }
      return response.sendByteArray(Mono.just(bytes)).then();
    }));
  }

  /**
   * {@code stage}, completing on {@code request}'s event loop when it completes later: counters
   * in Redis complete on Lettuce's I/O threads, which must not carry the rest of the request.
   */
  private static <T> CompletableFuture<T> onRequestLoop(HttpServerRequest request,
      CompletableFuture<T> stage) {
    if (stage.isDone()) {
      return stage;
    }
    Executor[] loop = new Executor[1];
    request.withConnection(connection -> loop[0] = connection.channel().eventLoop());
    return loop[0] == null ? stage : stage.whenCompleteAsync((value, failure) -> { }, loop[0]);
  }

  private Mono<Void> relay(BackendResponse answer, HttpServerResponse response, boolean stream,
      Endpoint endpoint, Catalog.Route route, long started, Accounting.Account account,
      CacheStage.@Nullable Call cached) {
    String backend = route.backend().name();
    if (!stream) {
      // One array, sent as one full HTTP message: one write, one system call. Its usage record
      // is in the spool before the client gets a byte of it.
      AtomicLong size = new AtomicLong();
      return answer.body()
          .doOnNext(chunk -> {
            if (size.addAndGet(chunk.length) > MAX_WHOLE_ANSWER) {
              throw new OpenAiException(502, "upstream_error", "Backend '" + route.backend().name()
                  + "' answered more than " + MAX_WHOLE_ANSWER + " bytes.", null, "upstream_too_large");
            }
          })
          .collectList()
          .map(OpenAiHandler::concat)
          .doOnError(e -> record(endpoint, route.model(), backend, statusOf(e), started))
          .flatMap(bytes -> {
            account.whole(bytes);
            if (cached != null) {
              cached.answered(answer.status(), bytes);
            }
            return Mono.fromFuture(account.completed(answer.status())).thenReturn(bytes);
          })
          .flatMap(bytes -> {
            record(endpoint, route.model(), backend, answer.status(), started);
            head(response, answer).header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(bytes.length));
            return response.sendByteArray(Mono.just(bytes)).then();
          });
    }
    AtomicBoolean relayed = new AtomicBoolean();
    AtomicReference<byte[]> last = new AtomicReference<>(EMPTY);
    Flux<byte[]> body = answer.body()
        .doOnNext(chunk -> {
          relayed.set(true);
          last.set(chunk);
          account.events(chunk);
          if (cached != null && answer.status() == 200) {
            cached.streamed(endpoint, chunk);
          }
        })
        // The end of a stream waits until its usage record is in the spool.
        .concatMap(chunk -> Accounting.endsStream(chunk)
            ? Mono.fromFuture(account.completed(answer.status())).thenReturn(chunk)
            : Mono.just(chunk))
        .onErrorResume(e -> {
          if (!relayed.get()) {
            return Flux.error(e);
          }
          record(endpoint, route.model(), backend, statusOf(e), started);
          account.ended(answer.status(), "failed");
          // Headers and part of the answer are out: the status cannot change any more, so a
          // stream ends with a last chunk whose finish_reason says it was cut, then an OpenAI
          // error event, and never [DONE]; a plain answer is cut off.
          if (!(e instanceof OpenAiException oe)) {
            return Flux.error(e);
          }
          StreamSplice tail = new StreamSplice();
          tail.sent(last.get());
          return Flux.just(tail.cutEnding(endpoint, oe));
        })
        .doOnComplete(() -> {
          if (cached != null && answer.status() == 200) {
            cached.streamEnded();
          }
          record(endpoint, route.model(), backend, answer.status(), started);
          account.ended(answer.status(), "failed"); // only if no [DONE] completed it
        });
    // Nothing is sent before the first chunk is here, so a failure before it still gets its status.
    return body.switchOnFirst((first, all) -> {
      if (first.hasError()) {
        return all;
      }
      head(response, answer);
      response.header(HttpHeaderNames.CACHE_CONTROL, "no-cache").header("X-Accel-Buffering", "no");
      return Flux.from(response.sendByteArray(all)).then();
    }).then();
  }

  private static HttpServerResponse head(HttpServerResponse response, BackendResponse answer) {
    return response.status(answer.status())
        .header(HttpHeaderNames.CONTENT_TYPE, answer.contentType());
  }

  private static long parseLong(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static byte[] concat(List<byte[]> chunks) {
    if (chunks.size() == 1) {
      return chunks.get(0);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    chunks.forEach(out::writeBytes);
    return out.toByteArray();
  }


  private void record(Endpoint endpoint, String model, String backend, int status, long started) {
    MetricKey key = new MetricKey(endpoint, model, backend, status);
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

  /** {@code model_not_found} with what {@code principal} could call instead. */
  private OpenAiException notFound(Catalog current, Principal principal, String model) {
    return ModelsApi.notFound(model, current, router, Map.of(),
        m -> principal.allows(m) && admission.allows(principal, m));
  }

  private static int statusOf(Throwable e) {
    return e instanceof OpenAiException oe ? oe.status() : 500;
  }

  private static boolean isJson(String contentType) {
    MediaType type;
    try {
      type = MediaType.parseMediaType(contentType);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return type.isCompatibleWith(MediaType.APPLICATION_JSON)
        || type.getSubtype().endsWith("+json");
  }

  private static String requestId(@Nullable String given) {
    if (given != null && CLIENT_REQUEST_ID.matcher(given).matches()) {
      return given;
    }
    return newRequestId(System.currentTimeMillis());
  }

  /**
   * A new request id: {@code req_}, the time in milliseconds (12 hex digits), then 80 random
   * bits (20 hex digits). Ids made later sort later, so the ledger's index of request ids grows
   * at its end, as its primary key does, instead of at random places all over its B-tree; 80
   * random bits keep two ids of one millisecond apart.
   */
  public static String newRequestId(long millis) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] id = new char[36];
    "req_".getChars(0, 4, id, 0);
    hex(millis, 12, id, 4);
    hex(random.nextLong(), 16, id, 16);
    hex(random.nextInt(), 4, id, 32);
    return new String(id);
  }

  private static void hex(long value, int digits, char[] into, int at) {
    for (int i = digits - 1; i >= 0; i--) {
      into[at + i] = Character.forDigit((int) (value & 0xf), 16);
      value >>>= 4;
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
