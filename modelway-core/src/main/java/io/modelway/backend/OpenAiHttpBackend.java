package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import io.modelway.openai.SseFramer;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.timeout.ReadTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.HttpClientResponse;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A {@link Backend} that is any server speaking the OpenAI API over HTTP: a Modelway worker, vLLM,
 * llama.cpp's server, Ollama, OpenAI itself. Non-blocking (Reactor Netty), over the keep-alive
 * connections of {@link ConnectionPools}, shared by every backend built on the same pools: a call
 * made on an event loop goes over a connection of that loop, so it is sent and answered there.
 *
 * <p>Deadlines ({@link Timeouts}): connect; first byte, the longest wait for a byte of the answer
 * after the request went out, and between two reads once it streams; total, from the moment the
 * call is sent. Both timers run on the connection's event loop. A missed deadline before the body
 * began fails the call with 504;
 * a connection that cannot be made or breaks fails it with 502; an error status from the server is
 * relayed with that status. Cancelling the body closes the connection, which is how a client's
 * disconnect reaches the server.
 *
 * <p>Thread-safe and immutable: a configuration change builds a new instance.
 */
public final class OpenAiHttpBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(OpenAiHttpBackend.class);
  private static final byte[] EMPTY = new byte[0];
  /** Answers up to this size (with a Content-Length) are read whole before they are relayed. */
  public static final long WHOLE_BODY_LIMIT = 1024 * 1024;
  /** The largest {@code GET /v1/models} answer accepted from an upstream. */
  static final int MODEL_LIST_LIMIT = 4 * 1024 * 1024;
  private static final JsonMapper MODEL_LISTS = JsonMapper.builder().build();

  private final String name;
  private final String baseUrl;
  private final @Nullable String authorization;
  private final Map<String, String> headers;
  private final Timeouts timeouts;
  private final LoopClients clients;
  /** Each endpoint's URL, parsed once (Reactor Netty parses a URL string with a regex a call). */
  private final Map<Endpoint, URI> urls = new EnumMap<>(Endpoint.class);

  /**
   * @param baseUrl the API base, such as {@code https://api.openai.com/v1}; paths such as
   *     {@code /chat/completions} are appended to it
   * @param apiKey sent as {@code Authorization: Bearer …} when present
   * @param headers sent with every call, after (and so over) the defaults
   * @param clients the clients of the shared {@link ConnectionPools}
   */
  public OpenAiHttpBackend(
      String name,
      URI baseUrl,
      @Nullable String apiKey,
      Map<String, String> headers,
      Timeouts timeouts,
      LoopClients clients) {
    this.name = requireNonNull(name, "name");
    String url = requireNonNull(baseUrl, "baseUrl").toString();
    this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    for (Endpoint endpoint : Endpoint.values()) {
      urls.put(endpoint, URI.create(this.baseUrl + endpoint.path()));
    }
    this.authorization = apiKey == null || apiKey.isEmpty() ? null : "Bearer " + apiKey;
    this.headers = Map.copyOf(requireNonNull(headers, "headers"));
    this.timeouts = requireNonNull(timeouts, "timeouts");
    int connectMillis = (int) Math.min(Integer.MAX_VALUE, timeouts.connect().toMillis());
    this.clients = requireNonNull(clients, "clients")
        .map(c -> c.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis));
  }

  @Override
  public String name() {
    return name;
  }

  /** The base URL calls go to, without a trailing slash. */
  public String baseUrl() {
    return baseUrl;
  }

  @Override
  public Mono<BackendResponse> send(BackendCall call) {
    requireNonNull(call, "call");
    return Mono.defer(() -> {
      long sent = System.nanoTime();
      Timeouts t = call.deadlines().over(timeouts, sent).orElse(null);
      if (t == null) {
        return Mono.error(timeout("the call's deadline passed before it was sent"));
      }
      // Here, on the thread the call is subscribed on: its event loop's client, if it is one.
      HttpClient client = clients.current();
      HttpClient c = t.connect().equals(timeouts.connect()) ? client
          : client.option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
              (int) Math.min(Integer.MAX_VALUE, Math.max(1, t.connect().toMillis())));
      return c
          .post()
          .uri(urls.get(call.endpoint()))
          .send((request, outbound) -> {
            writeHeaders(request.requestHeaders(), call);
            // Netty's read-timeout handler on the connection's event loop: no timer thread, no
            // hand-off. It fires when no byte arrives for first-byte after the request went out,
            // and, once the answer streams, for that long between two reads.
            request.responseTimeout(t.firstByte());
            return outbound.send(Mono.just(Unpooled.wrappedBuffer(call.body())));
          })
          .responseConnection((response, connection) -> head(response, connection, call, sent, t))
          .next()
          .onErrorMap(e -> translate(e, t));
    });
  }

  /**
   * A health probe: {@code GET} of {@code path} with this backend's key and headers, completing
   * with the answer's status code, or failing when no answer came within {@code timeout}
   * (connection included) or the connection failed. A path that starts with {@code /} is taken
   * from the server's root ({@code /health}); any other is below the base URL ({@code models} →
   * {@code …/v1/models}). The body is read and dropped.
   */
  public Mono<Integer> probe(String path, Duration timeout) {
    requireNonNull(path, "path");
    requireNonNull(timeout, "timeout");
    String url;
    if (path.startsWith("/")) {
      URI base = URI.create(baseUrl);
      url = base.getScheme() + "://" + base.getRawAuthority() + path;
    } else {
      url = baseUrl + "/" + path;
    }
    return Mono.defer(() -> jsonClient(timeout)
        .get()
        .uri(url)
        .responseSingle((response, body) -> body.then(Mono.just(response.status().code()))))
        .timeout(timeout);
  }

  /**
   * The client for a GET of JSON with this backend's key and headers, answered within {@code
   * timeout}.
   */
  private HttpClient jsonClient(Duration timeout) {
    return clients.current()
        .headers(h -> {
          h.set(HttpHeaderNames.ACCEPT, "application/json");
          if (authorization != null) {
            h.set(HttpHeaderNames.AUTHORIZATION, authorization);
          }
          headers.forEach(h::set);
        })
        .responseTimeout(timeout);
  }

  /**
   * The upstream's own model list: {@code GET …/models} (below the base URL) with this backend's
   * key and headers, the {@code id} of each entry of its {@code data} array, in its order.
   * Fails when no answer came within {@code timeout}, the status is not 2xx, or the body is not
   * an OpenAI model list.
   */
  public Mono<List<String>> listModels(Duration timeout) {
    requireNonNull(timeout, "timeout");
    return Mono.defer(() -> jsonClient(timeout)
        .get()
        .uri(baseUrl + "/models")
        .responseSingle((response, body) -> body.asByteArray().defaultIfEmpty(new byte[0])
            .map(bytes -> {
              int status = response.status().code();
              if (status < 200 || status > 299) {
                throw new IllegalStateException(
                    name + ": GET " + baseUrl + "/models answered " + status);
              }
              if (bytes.length > MODEL_LIST_LIMIT) {
                throw new IllegalStateException(name + ": model list over "
                    + MODEL_LIST_LIMIT + " bytes");
              }
              return modelIds(bytes);
            })))
        .timeout(timeout);
  }

  private List<String> modelIds(byte[] body) {
    JsonNode data;
    try {
      data = MODEL_LISTS.readTree(body).path("data");
    } catch (JacksonException e) {
      throw new IllegalStateException(name + ": model list is not JSON: " + e.getOriginalMessage());
    }
    if (!data.isArray()) {
      throw new IllegalStateException(name + ": model list has no \"data\" array");
    }
    List<String> ids = new ArrayList<>();
    for (JsonNode entry : data) {
      String id = entry.path("id").asString("");
      if (!id.isBlank()) {
        ids.add(id);
      }
    }
    return List.copyOf(ids);
  }

  private void writeHeaders(HttpHeaders h, BackendCall call) {
    h.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
    h.set(HttpHeaderNames.CONTENT_LENGTH, call.body().length);
    h.set(HttpHeaderNames.ACCEPT, call.stream() ? "text/event-stream" : "application/json");
    h.set("x-request-id", call.requestId());
    if (authorization != null) {
      h.set(HttpHeaderNames.AUTHORIZATION, authorization);
    }
    headers.forEach(h::set);
  }

  private Mono<BackendResponse> head(HttpClientResponse response, Connection connection,
      BackendCall call, long sent, Timeouts t) {
    int status = response.status().code();
    if (status >= 400) {
      String retryAfter = response.responseHeaders().get(HttpHeaderNames.RETRY_AFTER);
      return connection.inbound().receive().aggregate().asByteArray()
          .defaultIfEmpty(EMPTY)
          .flatMap(body -> Mono.error(OpenAiException.relayed(name, status, body, retryAfter)));
    }
    String contentType = response.responseHeaders().get(
        HttpHeaderNames.CONTENT_TYPE, "application/json");
    Flux<byte[]> body;
    long length = -1;
    if (call.stream() && contentType.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
      body = framed(connection.inbound().receive().asByteArray());
    } else {
      length = contentLength(response);
      // A small answer of known length arrives as one array, so the gateway can write it in one
      // piece (one system call); a large or unsized one streams through chunk by chunk.
      body = length >= 0 && length <= WHOLE_BODY_LIMIT
          ? connection.inbound().receive().aggregate().asByteArray().defaultIfEmpty(EMPTY).flux()
          : connection.inbound().receive().asByteArray();
    }
    return Mono.just(new BackendResponse(
        status, contentType, length, withTotalDeadline(body, connection, sent, t)));
  }

  private static long contentLength(HttpClientResponse response) {
    String announced = response.responseHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
    if (announced == null) {
      return -1;
    }
    try {
      return Long.parseLong(announced.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private Flux<byte[]> framed(Flux<byte[]> raw) {
    return Flux.defer(() -> {
      SseFramer framer = new SseFramer();
      return raw.map(framer::feed)
          .filter(events -> events.length > 0)
          .concatWith(Mono.defer(() -> framer.done()
              ? Mono.empty()
              : Mono.error(new OpenAiException(502, "upstream_error",
                  "Backend '" + name + "' ended the stream before data: [DONE].",
                  null, "stream_truncated"))));
    });
  }

  /**
   * Ends the body at the total deadline: one task on the connection's event loop closes the
   * connection when the deadline passes, and is cancelled when the body ends first.
   */
  private Flux<byte[]> withTotalDeadline(Flux<byte[]> body, Connection connection, long sent,
      Timeouts t) {
    return Flux.defer(() -> {
      AtomicBoolean expired = new AtomicBoolean();
      long left = remaining(sent, t.total()).toNanos();
      ScheduledFuture<?> deadline = connection.channel().eventLoop().schedule(() -> {
        expired.set(true);
        connection.dispose();
      }, left, TimeUnit.NANOSECONDS);
      return body
          .concatWith(Mono.defer(() -> expired.get()
              ? Mono.error(totalTimeout(t))
              : Mono.empty()))
          .onErrorMap(e -> expired.get() ? totalTimeout(t) : translate(e, t))
          .doFinally(signal -> deadline.cancel(false));
    });
  }

  private OpenAiException totalTimeout(Timeouts t) {
    return timeout("response not finished within total " + fmt(t.total()));
  }

  private static Duration remaining(long sent, Duration deadline) {
    long left = deadline.toNanos() - (System.nanoTime() - sent);
    return Duration.ofNanos(Math.max(0, left));
  }

  private OpenAiException timeout(String what) {
    return OpenAiException.upstreamTimeout(name, what);
  }

  private Throwable translate(Throwable e, Timeouts t) {
    if (e instanceof OpenAiException) {
      return e;
    }
    if (e instanceof ReadTimeoutException) {
      // A first-byte wait cut to what was left of the call's total is the total's deadline.
      return t.firstByte().equals(t.total()) ? totalTimeout(t)
          : timeout("no data within first-byte " + fmt(t.firstByte()));
    }
    if (e instanceof ConnectTimeoutException) {
      return OpenAiException.upstreamTimeout(
          name, "no connection within connect " + fmt(t.connect()), e);
    }
    log.warn("Backend {} unreachable: {}", name, e.toString());
    return OpenAiException.upstreamUnreachable(name, e);
  }

  /**
   * Whether {@code failure}, from {@link #send}, happened before the request left: no connection
   * could be made, so nothing reached the backend and the call may safely go to another one.
   */
  public static boolean neverSent(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException) { // Netty's connect timeout is one too
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  private static String fmt(Duration d) {
    if (d.compareTo(Duration.ofSeconds(1)) < 0) {
      return Math.round(d.toNanos() / 1e6) + "ms";
    }
    if (d.getNano() % 1_000_000 != 0) {
      d = Duration.ofMillis(Math.round(d.toNanos() / 1e6));
    }
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
  }
}
