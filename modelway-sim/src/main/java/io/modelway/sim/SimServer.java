package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.openai.SseFramer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.MissingNode;

/**
 * A simulated OpenAI-compatible LLM server on bare Reactor Netty. It answers
 * {@code /v1/chat/completions}, {@code /v1/completions} (streamed or not, with usage),
 * {@code /v1/embeddings} (deterministic unit vectors) and {@code /v1/models} for any model name,
 * and serves {@code /sim/stats} and {@code /sim/last-request} so tests can see what reached it.
 *
 * <p>Chat and text completions run through a simulated engine ({@link Engine}: KV prefix cache,
 * running limit and queue, prefill and decode speeds) whose state {@code GET /metrics} shows under
 * vLLM's metric names. {@code GET /sim/chaos} and {@code POST /sim/chaos {"mode": …}} read and
 * switch its {@link ChaosMode}.
 *
 * <p>Validation is the gateway's ({@link InspectedRequest}), so both reject the same bodies.
 * Thread-safe; {@link #close()} stops it.
 */
public final class SimServer implements AutoCloseable {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  static {
    // Builds and caches the tree deserializer now: built on first use, under a lock that
    // concurrent first calls on event loops would wait on.
    JSON.readTree("{}");
  }
  private static final Logger log = LoggerFactory.getLogger(SimServer.class);

  private final SimOptions options;
  private final Runnable die;
  private final Chaos chaos;
  private final Engine engine;
  private final Playback playback;
  private final Disposable.Composite timers = Disposables.composite();
  /** Every open connection, so that dying can cut them; a closed one leaves by itself. */
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final DisposableServer server;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong inflight = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong cancelled = new AtomicLong();
  private final AtomicLong injectedErrors = new AtomicLong();
  private final AtomicLong ids = new AtomicLong();
  private final AtomicReference<byte[]> lastRequest = new AtomicReference<>(new byte[] {'{', '}'});

  private SimServer(SimOptions options, @Nullable Runnable die) {
    this.options = options;
    this.die = die != null ? die : this::dropEverything;
    this.chaos = new Chaos(options.hangTokens());
    this.engine = new Engine(options, System::nanoTime);
    this.playback = new Playback(engine, chaos, Schedulers.parallel());
    this.server = HttpServer.create()
        .host(options.host())
        .port(options.port())
        .doOnChannelInit((observer, channel, remoteAddress) -> connections.add(channel))
        .route(routes -> routes
            .post("/v1/chat/completions", (req, res) -> generate(Endpoint.CHAT_COMPLETIONS, req, res))
            .post("/v1/completions", (req, res) -> generate(Endpoint.COMPLETIONS, req, res))
            .post("/v1/embeddings", (req, res) -> generate(Endpoint.EMBEDDINGS, req, res))
            .get("/v1/models", (req, res) -> json(res, 200, models()))
            .get("/v1/models/{id}", (req, res) -> json(res, 200, model(req.param("id"))))
            .get("/sim/stats", (req, res) -> json(res, 200, write(this::writeStats)))
            .get("/sim/last-request", (req, res) -> json(res, 200, lastRequest.get()))
            .get("/sim/chaos", (req, res) -> json(res, 200, chaosBody(chaos.mode(), null)))
            .post("/sim/chaos", this::switchChaos)
            .get("/metrics", (req, res) -> res.status(200)
                .header(HttpHeaderNames.CONTENT_TYPE, VllmMetrics.CONTENT_TYPE)
                .sendByteArray(Mono.fromSupplier(() -> VllmMetrics.render(engine.snapshot()))))
            .get("/health", (req, res) -> chaos.mode() == ChaosMode.FAIL
                ? json(res, 503, "{\"status\":\"DOWN\"}".getBytes(StandardCharsets.UTF_8))
                : json(res, 200, "{\"status\":\"UP\"}".getBytes(StandardCharsets.UTF_8))))
        .bindNow();
    for (ChaosTrigger trigger : options.chaos()) {
      if (trigger instanceof ChaosTrigger.AfterTime after) {
        timers.add(Mono.delay(after.time(), Schedulers.parallel())
            .subscribe(tick -> switchChaosMode(after.mode())));
      }
    }
  }

  /**
   * Starts a server; it listens once this returns. In {@link ChaosMode#DIE} it drops every
   * connection and stops listening, as if its process had been killed, and leaves the JVM alone.
   */
  public static SimServer start(SimOptions options) {
    return new SimServer(requireNonNull(options, "options"), null);
  }

  /**
   * Starts a server whose {@link ChaosMode#DIE} runs {@code die}, such as {@code () ->
   * Runtime.getRuntime().halt(137)}; should {@code die} return, the server drops each connection it
   * gets from then on.
   */
  public static SimServer start(SimOptions options, Runnable die) {
    return new SimServer(requireNonNull(options, "options"), requireNonNull(die, "die"));
  }

  /** The chaos mode in force. */
  public ChaosMode chaosMode() {
    return chaos.mode();
  }

  /**
   * Switches the chaos mode (see {@link ChaosMode}) and returns the one it left. {@link
   * ChaosMode#DIE} is final: switching to it dies, and nothing switches out of it.
   */
  public ChaosMode switchChaosMode(ChaosMode mode) {
    ChaosMode previous = chaos.switchTo(mode);
    if (previous != mode && previous != ChaosMode.DIE) {
      log.info("modelway sim: chaos mode {} (was {})", mode.wireName(), previous.wireName());
      if (mode == ChaosMode.DIE) {
        die.run();
      }
    }
    return previous;
  }

  /** The port it listens on. */
  public int port() {
    return server.port();
  }

  /** {@code http://host:port/v1}, the base URL an OpenAI client takes. */
  public String baseUrl() {
    String host = options.host().equals("0.0.0.0") ? "127.0.0.1" : options.host();
    return "http://" + host + ":" + port() + "/v1";
  }

  public SimStats stats() {
    Engine.Snapshot engineNow = engine.snapshot();
    return new SimStats(requests.get(), inflight.get(), completed.get(), cancelled.get(),
        injectedErrors.get(), engineNow.running(), engineNow.waiting());
  }

  /** Connections open now. */
  int openConnections() {
    return connections.size();
  }

  /** Blocks until the server is closed. */
  public void awaitClose() {
    server.onDispose().block();
  }

  /**
   * Closes the server, waiting up to 10 s for its socket to close. When the event loops it ran on
   * are already shut down — a gateway in the same JVM that closed first releases Reactor Netty's
   * global loops at once — no loop is left to report the close, so it is asked for and not
   * waited for: the loops' shutdown closes their channels.
   */
  @Override
  public void close() {
    timers.dispose();
    try {
      server.disposeNow(Duration.ofSeconds(10));
    } catch (IllegalStateException e) {
      server.dispose();
    }
  }

  /** The death of a server in the test's own JVM: no goodbye to anyone, no new connection. */
  private void dropEverything() {
    timers.dispose();
    server.dispose();
    connections.close();
    if (!Schedulers.isInNonBlockingThread()) {
      // A caller that may wait, such as a test, waits until the port is closed: a connection
      // made after this returns is refused, never accepted and then dropped.
      server.onDispose().block(Duration.ofSeconds(10));
    }
  }

  private Publisher<Void> switchChaos(HttpServerRequest req, HttpServerResponse res) {
    return req.receive().aggregate().asByteArray().defaultIfEmpty(new byte[0]).flatMap(body -> {
      ChaosMode mode;
      try {
        mode = requestedMode(body);
      } catch (OpenAiException e) {
        return Mono.from(json(res, e.status(), e.toJson()));
      }
      if (mode == ChaosMode.DIE) {
        // Answer first, so that whoever asked knows it was heard, then die once the connection
        // has closed behind the answer: a write reported done is not yet on the wire on every
        // transport (on io_uring, dying right then lost the answer).
        res.withConnection(connection -> connection.onDispose(() -> switchChaosMode(mode)));
        return Mono.from(json(res.header(HttpHeaderNames.CONNECTION, "close"), 200,
            chaosBody(mode, chaos.mode())));
      }
      ChaosMode previous = switchChaosMode(mode);
      return Mono.from(json(res, 200, chaosBody(chaos.mode(), previous)));
    });
  }

  /** The mode of a {@code POST /sim/chaos} body, {@code {"mode": "hang"}}; else a 400. */
  private static ChaosMode requestedMode(byte[] body) {
    JsonNode name;
    try {
      name = JSON.readTree(body).path("mode");
    } catch (JacksonException e) {
      name = MissingNode.getInstance();
    }
    if (!name.isString()) {
      throw OpenAiException.invalidRequest(
          "mode: missing (expected: {\"mode\": \"normal\", \"hang\", \"fail\" or \"die\"})", "mode");
    }
    try {
      return ChaosMode.parse(name.asString());
    } catch (IllegalArgumentException e) {
      throw OpenAiException.invalidRequest(e.getMessage(), "mode");
    }
  }

  private static byte[] chaosBody(ChaosMode mode, @Nullable ChaosMode previous) {
    return write(g -> {
      g.writeStringProperty("mode", mode.wireName());
      if (previous != null) {
        g.writeStringProperty("previous", previous.wireName());
      }
    });
  }

  /** Fires the request-counted chaos triggers due when request {@code number} arrives. */
  private void arrived(long number) {
    for (ChaosTrigger trigger : options.chaos()) {
      if (trigger instanceof ChaosTrigger.AfterRequests after && number == after.requests() + 1) {
        switchChaosMode(after.mode());
      }
    }
  }

  private Publisher<Void> generate(Endpoint endpoint, HttpServerRequest req, HttpServerResponse res) {
    return req.receive().aggregate().asByteArray().defaultIfEmpty(new byte[0]).flatMap(body -> {
      arrived(requests.incrementAndGet());
      lastRequest.set(describe(req, body));
      if (chaos.mode() == ChaosMode.DIE) {
        // Only when dying did not end the process: be as dead as a server in it can be.
        req.withConnection(Connection::dispose);
        return Mono.never();
      }
      InspectedRequest request;
      JsonNode tree;
      try {
        request = InspectedRequest.inspect(endpoint, body);
        tree = JSON.readTree(body);
      } catch (OpenAiException e) {
        return Mono.from(json(res, e.status(), e.toJson()));
      }
      if (chaos.mode() == ChaosMode.FAIL) {
        injectedErrors.incrementAndGet();
        OpenAiException e = new OpenAiException(500, "server_error",
            "Simulated failure (chaos mode fail).", null, "sim_chaos");
        return Mono.from(json(res, 500, e.toJson()));
      }
      if (injectError()) {
        injectedErrors.incrementAndGet();
        OpenAiException e = new OpenAiException(500, "server_error",
            "Simulated failure (error rate " + options.errorRate() + ").", null, "sim_error");
        return Mono.from(json(res, 500, e.toJson()));
      }
      Flux<byte[]> answer;
      if (endpoint == Endpoint.EMBEDDINGS) {
        answer = Flux.from(playback.unlessHung(embeddings(request, tree)));
      } else {
        Prompt prompt = Prompt.of(endpoint, request.model(), tree, options.promptTokensPerByte());
        Text text = text(endpoint, request, tree);
        int length = text.tokens().size();
        if (prompt.tokens() + length > engine.maxTokens()) {
          return Mono.from(json(res, 400, contextTooLong(endpoint, prompt, length).toJson()));
        }
        answer = request.stream()
            ? stream(endpoint, request, prompt, text)
            : Flux.from(whole(endpoint, request, prompt, text, choices(tree)));
      }
      inflight.incrementAndGet();
      answer = answer
          .doOnComplete(completed::incrementAndGet)
          .doOnCancel(cancelled::incrementAndGet)
          .doFinally(signal -> inflight.decrementAndGet());
      if (request.stream()) {
        res.status(200)
            .header(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
            .header(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        return Mono.from(res.sendByteArray(answer));
      }
      return answer.next().flatMap(bytes -> Mono.from(json(res, 200, bytes)));
    });
  }

  private boolean injectError() {
    if (options.errorRate() <= 0) {
      return false;
    }
    long draw = Answer.mix(options.seed() + 0x9e3779b97f4a7c15L * ids.incrementAndGet());
    return (draw >>> 11) * 0x1.0p-53 < options.errorRate();
  }

  private byte[] describe(HttpServerRequest req, byte[] body) {
    return write(g -> {
      g.writeStringProperty("method", req.method().name());
      g.writeStringProperty("path", req.uri());
      g.writeName("headers");
      g.writeStartObject();
      req.requestHeaders().forEach(h -> g.writeStringProperty(h.getKey().toLowerCase(), h.getValue()));
      g.writeEndObject();
      g.writeStringProperty("body", new String(body, StandardCharsets.UTF_8));
    });
  }

  /** The tokens of an answer and its finish reason. */
  private record Text(List<String> tokens, String finishReason) {}

  /**
   * What the model answers: {@code --output-tokens} tokens (fewer with {@code max_tokens}) drawn
   * from the seed of the request. A chat request with {@code "continue_final_message": true}
   * (vLLM's field) whose last message is the assistant's continues that message: its answer is
   * the rest of the answer to the conversation before it, from where the given text ends, when
   * the text is a beginning of that answer (so an answer cut anywhere and continued here reads
   * exactly as the uncut one), and else a fresh answer to the whole conversation.
   */
  private Text text(Endpoint endpoint, InspectedRequest request, JsonNode tree) {
    JsonNode messages = tree.path("messages");
    JsonNode last = messages.path(messages.size() - 1);
    if (endpoint == Endpoint.CHAT_COMPLETIONS && tree.path("continue_final_message").asBoolean(false)
        && messages.size() > 1 && "assistant".equals(last.path("role").asString(""))
        && last.path("content").isString()) {
      tools.jackson.databind.node.ArrayNode before = JSON.createArrayNode();
      for (int i = 0; i < messages.size() - 1; i++) {
        before.add(messages.get(i));
      }
      List<String> full = Answer.tokens(answerSeed(request, before, tree), options.outputTokens());
      String given = last.path("content").asString();
      if (String.join("", full).startsWith(given)) {
        int k = 0;
        int covered = 0;
        while (k < full.size() && covered + full.get(k).length() <= given.length()) {
          covered += full.get(k).length();
          k++;
        }
        List<String> rest = new ArrayList<>(full.subList(k, full.size()));
        if (covered < given.length()) { // the given text ends inside token k
          rest.set(0, rest.get(0).substring(given.length() - covered));
        }
        Integer max = request.maxTokens();
        if (max != null && max < rest.size()) {
          return new Text(List.copyOf(rest.subList(0, max)), "length");
        }
        return new Text(rest, "stop");
      }
    }
    int length = outputLength(request);
    JsonNode prompt = endpoint == Endpoint.CHAT_COMPLETIONS ? messages : tree.path("prompt");
    return new Text(Answer.tokens(answerSeed(request, prompt, tree), length),
        finishReason(request, length));
  }

  /** The seed of one answer: the server's seed, the model, the prompt and the request's seed. */
  private long answerSeed(InspectedRequest request, JsonNode prompt, JsonNode tree) {
    long h = options.seed();
    h = Answer.mix(h ^ request.model().hashCode());
    h = Answer.mix(h ^ prompt.toString().hashCode());
    return Answer.mix(h ^ tree.path("seed").asLong(0));
  }

  /** vLLM's answer to a request longer than its context (here: the KV cache), in OpenAI's shape. */
  private OpenAiException contextTooLong(Endpoint endpoint, Prompt prompt, int length) {
    String input = endpoint == Endpoint.CHAT_COMPLETIONS ? "messages" : "prompt";
    return new OpenAiException(400, "invalid_request_error", "This model's maximum context length is "
        + engine.maxTokens() + " tokens. However, you requested " + (prompt.tokens() + length)
        + " tokens (" + prompt.tokens() + " in the " + input + ", " + length + " in the completion)."
        + " Please reduce the length of the " + input + " or completion.", input,
        "context_length_exceeded");
  }

  private int outputLength(InspectedRequest request) {
    Integer max = request.maxTokens();
    return max == null ? options.outputTokens() : Math.min(max, options.outputTokens());
  }

  /**
   * The answers a request asks for ({@code n}) and those it is billed for ({@code best_of}, when
   * larger), as {@code {n, billed}}: each of the {@code n} choices of a whole answer is the same
   * text, and its usage counts the completion tokens of {@code billed} of them, as OpenAI bills
   * {@code best_of}. A streamed answer has one choice.
   */
  private static int[] choices(JsonNode tree) {
    int n = Math.max(1, tree.path("n").asInt(1));
    return new int[] {n, Math.max(n, tree.path("best_of").asInt(1))};
  }

  private Mono<byte[]> whole(Endpoint endpoint, InspectedRequest request, Prompt prompt,
      Text answer, int[] choices) {
    List<String> tokens = answer.tokens();
    int length = tokens.size();
    String text = String.join("", tokens);
    String finish = answer.finishReason();
    byte[] body = write(g -> {
      head(g, endpoint == Endpoint.CHAT_COMPLETIONS ? "chat.completion" : "text_completion",
          endpoint, request.model());
      g.writeName("choices");
      g.writeStartArray();
      for (int index = 0; index < choices[0]; index++) {
        g.writeStartObject();
        g.writeNumberProperty("index", index);
        if (endpoint == Endpoint.CHAT_COMPLETIONS) {
          g.writeName("message");
          g.writeStartObject();
          g.writeStringProperty("role", "assistant");
          g.writeStringProperty("content", text);
          g.writeEndObject();
        } else {
          g.writeStringProperty("text", text);
        }
        g.writeNullProperty("logprobs");
        g.writeStringProperty("finish_reason", finish);
        g.writeEndObject();
      }
      g.writeEndArray();
      usage(g, prompt.tokens(), length * choices[1]);
    });
    return playback.whole(prompt, length, body);
  }

  private Flux<byte[]> stream(Endpoint endpoint, InspectedRequest request, Prompt prompt,
      Text answer) {
    List<String> tokens = answer.tokens();
    int length = tokens.size();
    String id = nextId(endpoint);
    long created = System.currentTimeMillis() / 1000;
    boolean usage = request.includeUsage();
    List<byte[]> events = new ArrayList<>(length + 3);
    for (int i = 0; i < length; i++) {
      String token = tokens.get(i);
      boolean first = i == 0;
      events.add(event(chunk(endpoint, id, created, request.model(), usage, g -> {
        if (endpoint == Endpoint.CHAT_COMPLETIONS) {
          g.writeName("delta");
          g.writeStartObject();
          if (first) {
            g.writeStringProperty("role", "assistant");
          }
          g.writeStringProperty("content", token);
          g.writeEndObject();
        } else {
          g.writeStringProperty("text", token);
        }
        g.writeNullProperty("finish_reason");
      })));
    }
    String finish = answer.finishReason();
    List<byte[]> tail = new ArrayList<>(3);
    tail.add(event(chunk(endpoint, id, created, request.model(), usage, g -> {
      if (endpoint == Endpoint.CHAT_COMPLETIONS) {
        g.writeName("delta");
        g.writeStartObject();
        g.writeEndObject();
      } else {
        g.writeStringProperty("text", "");
      }
      g.writeStringProperty("finish_reason", finish);
    })));
    if (usage) {
      tail.add(event(write(g -> {
        chunkHead(g, endpoint, id, created, request.model());
        g.writeName("choices");
        g.writeStartArray();
        g.writeEndArray();
        usage(g, prompt.tokens(), length);
      })));
    }
    tail.add("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
    return playback.stream(prompt, events, tail);
  }

  private String finishReason(InspectedRequest request, int length) {
    Integer max = request.maxTokens();
    return max != null && max <= length && max < options.outputTokens() ? "length" : "stop";
  }

  private byte[] chunk(Endpoint endpoint, String id, long created, String model, boolean usage,
      Consumer<JsonGenerator> choice) {
    return write(g -> {
      chunkHead(g, endpoint, id, created, model);
      g.writeName("choices");
      g.writeStartArray();
      g.writeStartObject();
      g.writeNumberProperty("index", 0);
      choice.accept(g);
      g.writeEndObject();
      g.writeEndArray();
      if (usage) {
        g.writeNullProperty("usage");
      }
    });
  }

  private void chunkHead(JsonGenerator g, Endpoint endpoint, String id, long created, String model) {
    g.writeStringProperty("id", id);
    g.writeStringProperty("object",
        endpoint == Endpoint.CHAT_COMPLETIONS ? "chat.completion.chunk" : "text_completion");
    g.writeNumberProperty("created", created);
    g.writeStringProperty("model", model);
    g.writeStringProperty("system_fingerprint", "modelway-sim");
  }

  private void head(JsonGenerator g, String object, Endpoint endpoint, String model) {
    g.writeStringProperty("id", nextId(endpoint));
    g.writeStringProperty("object", object);
    g.writeNumberProperty("created", System.currentTimeMillis() / 1000);
    g.writeStringProperty("model", model);
    g.writeStringProperty("system_fingerprint", "modelway-sim");
  }

  private String nextId(Endpoint endpoint) {
    return (endpoint == Endpoint.CHAT_COMPLETIONS ? "chatcmpl-sim-" : "cmpl-sim-")
        + ids.incrementAndGet();
  }

  private static void usage(JsonGenerator g, int prompt, int completion) {
    g.writeName("usage");
    g.writeStartObject();
    g.writeNumberProperty("prompt_tokens", prompt);
    g.writeNumberProperty("completion_tokens", completion);
    g.writeNumberProperty("total_tokens", prompt + completion);
    g.writeEndObject();
  }

  private byte[] embeddings(InspectedRequest request, JsonNode tree) {
    List<String> inputs = new ArrayList<>();
    JsonNode input = tree.path("input");
    if (input.isString()) {
      inputs.add(input.asString());
    } else if (input.size() > 0 && input.path(0).isNumber()) {
      inputs.add(input.toString());
    } else {
      for (JsonNode item : input.values()) {
        inputs.add(item.isString() ? item.asString() : item.toString());
      }
    }
    int dims = tree.path("dimensions").asInt(options.embeddingDimensions());
    boolean base64 = "base64".equals(tree.path("encoding_format").asString("float"));
    int promptTokens = inputs.stream().mapToInt(Answer::countTokens).sum();
    return write(g -> {
      g.writeStringProperty("object", "list");
      g.writeName("data");
      g.writeStartArray();
      for (int i = 0; i < inputs.size(); i++) {
        float[] vector = vector(inputs.get(i), dims);
        g.writeStartObject();
        g.writeStringProperty("object", "embedding");
        g.writeNumberProperty("index", i);
        g.writeName("embedding");
        if (base64) {
          ByteBuffer bytes = ByteBuffer.allocate(dims * 4).order(ByteOrder.LITTLE_ENDIAN);
          for (float f : vector) {
            bytes.putFloat(f);
          }
          g.writeString(Base64.getEncoder().encodeToString(bytes.array()));
        } else {
          g.writeStartArray();
          for (float f : vector) {
            g.writeNumber(f);
          }
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringProperty("model", request.model());
      g.writeName("usage");
      g.writeStartObject();
      g.writeNumberProperty("prompt_tokens", promptTokens);
      g.writeNumberProperty("total_tokens", promptTokens);
      g.writeEndObject();
    });
  }

  /** A unit vector that depends only on the seed and the text. */
  private float[] vector(String text, int dims) {
    SplittableRandom random = new SplittableRandom(Answer.mix(options.seed() ^ text.hashCode()));
    float[] v = new float[dims];
    double norm = 0;
    for (int i = 0; i < dims; i++) {
      double x = random.nextGaussian();
      v[i] = (float) x;
      norm += x * x;
    }
    float scale = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < dims; i++) {
      v[i] *= scale;
    }
    return v;
  }

  private byte[] models() {
    return write(g -> {
      g.writeStringProperty("object", "list");
      g.writeName("data");
      g.writeStartArray();
      for (String id : options.models()) {
        g.writeStartObject();
        modelFields(g, id);
        g.writeEndObject();
      }
      g.writeEndArray();
    });
  }

  private byte[] model(@Nullable String id) {
    return write(g -> modelFields(g, id == null ? "sim" : id));
  }

  private static void modelFields(JsonGenerator g, String id) {
    g.writeStringProperty("id", id);
    g.writeStringProperty("object", "model");
    g.writeNumberProperty("created", 0);
    g.writeStringProperty("owned_by", "modelway-sim");
  }

  private void writeStats(JsonGenerator g) {
    SimStats s = stats();
    g.writeNumberProperty("requests", s.requests());
    g.writeNumberProperty("inflight", s.inflight());
    g.writeNumberProperty("completed", s.completed());
    g.writeNumberProperty("cancelled", s.cancelled());
    g.writeNumberProperty("injected_errors", s.injectedErrors());
    g.writeNumberProperty("running", s.running());
    g.writeNumberProperty("waiting", s.waiting());
    g.writeStringProperty("chaos", chaos.mode().wireName());
  }

  private static byte[] event(byte[] json) {
    return SseFramer.dataEvent(json);
  }

  /** Writes one JSON object whose fields {@code fields} writes. */
  private static byte[] write(Consumer<JsonGenerator> fields) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      fields.accept(g);
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  private static Publisher<Void> json(HttpServerResponse res, int status, byte[] body) {
    return res.status(HttpResponseStatus.valueOf(status))
        .header(HttpHeaderNames.CONTENT_TYPE, "application/json")
        .header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(body.length))
        .sendByteArray(Mono.just(body));
  }

}
