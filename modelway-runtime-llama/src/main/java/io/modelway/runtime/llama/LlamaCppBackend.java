package io.modelway.runtime.llama;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LogLevel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import io.modelway.runtime.ModelRuntime;
import io.modelway.runtime.TokenCounter;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.openai.SseFramer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Sinks;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A GGUF model run in this JVM by llama.cpp ({@code de.kherud:llama}), answering chat completions
 * and completions; embeddings are refused with 400.
 *
 * <p>Generation is blocking JNI, driven by one thread per model (a {@link ResultPump}) that
 * prepares each call, starts it in llama.cpp and takes the results of all running calls in turn;
 * no thread waits per call. At most {@code slots} calls generate at once, and at most
 * {@value #QUEUE_PER_SLOT} per slot wait for one (beyond that: 503). The result of {@link #send}
 * completes once the prompt was templated and tokenized on that thread; a stream's body then
 * carries one event per generated token, emitted from that thread. Cancelling the result or the
 * body cancels the call's task in llama.cpp at the pump's next turn.
 *
 * <p>Chat prompts are built by llama.cpp's Jinja engine (minja) from the GGUF
 * {@code tokenizer.chat_template}; llama.cpp falls back to ChatML when the file has none. The
 * messages go to it as given, so content-part arrays work as llama.cpp's server handles them;
 * {@code tools}, {@code response_format} and {@code logit_bias} are ignored.
 *
 * <p>Usage is counted by the model's tokenizer for the prompt (with the BOS token when the model
 * adds one) and by the engine's results for the completion: one result per generated token,
 * except that llama.cpp merges a token ending inside a UTF-8 character into the next result, so
 * such tokens are under-counted. A completion cut by {@code max_tokens} reports exactly that many.
 * {@code max_tokens} is capped at what is left of the slot's context after the prompt.
 *
 * <p>Thread-safe.
 */
public final class LlamaCppBackend implements ModelRuntime, TokenCounter {
  private static final Logger log = LoggerFactory.getLogger(LlamaCppBackend.class);
  private static final Logger engineLog = LoggerFactory.getLogger("io.modelway.runtime.llama.engine");
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
  static final int QUEUE_PER_SLOT = 64;

  private final String name;
  private final LlamaOptions options;
  private final GgufHeader header;
  private final LlamaModel model;
  private final ResultPump pump;
  private final Clock clock;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong generatedTokens = new AtomicLong();

  private LlamaCppBackend(String name, Path file, LlamaOptions options, Clock clock) {
    this.name = name;
    this.options = options;
    this.clock = clock;
    this.header = GgufHeader.read(file);
    this.model = load(file, options);
    this.pump = new ResultPump(name, model, options.slots(), options.slots() * QUEUE_PER_SLOT,
        unavailable("is shut down"));
  }

  /**
   * Loads the GGUF model at {@code file}; blocks until it is in memory.
   *
   * @param name the model name: returned by {@link #name()} and written into every answer
   * @throws ModelLoadException when the file is missing, not GGUF, truncated, or rejected by
   *     llama.cpp; the message names the file and the reason
   */
  public static LlamaCppBackend load(String name, Path file, LlamaOptions options) {
    return new LlamaCppBackend(
        requireNonNull(name, "name"), requireNonNull(file, "file"),
        requireNonNull(options, "options"), Clock.systemUTC());
  }

  private static LlamaModel load(Path file, LlamaOptions options) {
    isolateNativeLibrary();
    routeEngineLog();
    ModelParameters params = new ModelParameters()
        .setModel(file.toString())
        .setParallel(options.slots())
        .setCtxSize(options.contextSize())
        .setThreads(options.threads())
        .enableJinja();
    // llama.cpp's server loop logs through its own logger straight to stderr; only llama's and
    // ggml's own messages reach the callback. Keep the former for debugging only.
    if (!engineLog.isDebugEnabled()) {
      params.disableLog();
    }
    try {
      LlamaModel loaded = new LlamaModel(params);
      routeEngineLog(); // loading installs llama.cpp's default logger again
      return loaded;
    } catch (RuntimeException | UnsatisfiedLinkError e) {
      throw new ModelLoadException(file, "llama.cpp rejected it (" + e.getMessage() + ")", e);
    }
  }

  /** The binding's own property naming where it extracts its native library. */
  static final String NATIVE_DIR_PROPERTY = "de.kherud.llama.tmpdir";

  /**
   * Makes the binding extract its native library into a directory of this process's own. By
   * default it writes {@code java.io.tmpdir/libjllama.so}, so two processes starting at once (two
   * workers on one machine) overwrite the library while the other loads it, which crashes the
   * loader with SIGBUS.
   */
  private static synchronized void isolateNativeLibrary() {
    if (System.getProperty(NATIVE_DIR_PROPERTY) != null) {
      return;
    }
    try {
      Path dir = java.nio.file.Files.createTempDirectory("modelway-llama-");
      dir.toFile().deleteOnExit(); // runs after the library's own, registered next
      dir.resolve(System.mapLibraryName("jllama")).toFile().deleteOnExit();
      System.setProperty(NATIVE_DIR_PROPERTY, dir.toString());
    } catch (java.io.IOException e) {
      log.warn("Cannot make a private directory for llama.cpp's native library ({}); it goes to"
          + " the shared temp directory", e.toString());
    }
  }

  private static void routeEngineLog() {
    LlamaModel.setLogger(LogFormat.TEXT, (LogLevel level, String message) -> {
      if (engineLog.isDebugEnabled()) {
        engineLog.debug("{} {}", level, message.stripTrailing());
      }
    });
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Load load() {
    return new Load(options.slots(), pump.busy(), pump.waiting(), generatedTokens.get());
  }

  /** Tokens generated since loading, over all calls (as counted for usage). */
  long generatedTokens() {
    return generatedTokens.get();
  }

  /** Calls being generated or waiting for a slot. */
  int activeCalls() {
    return pump.busy() + pump.waiting();
  }

  @Override
  public Mono<BackendResponse> send(BackendCall call) {
    requireNonNull(call, "call");
    if (call.endpoint() == Endpoint.EMBEDDINGS) {
      return Mono.error(OpenAiException.invalidRequest(
          "The model '" + name + "' does not serve embeddings.", "model"));
    }
    return Mono.create(sink -> {
      Call job = call.stream() ? new StreamCall(call, sink) : new WholeCall(call, sink);
      sink.onCancel(job::cancel);
      if (!pump.offer(job)) {
        sink.error(closed.get() || pump.isClosed()
            ? unavailable("is shut down")
            : unavailable("is overloaded: " + pump.waiting() + " calls wait"));
      }
    });
  }

  /** A call in the pump: its request until started, then its results so far. */
  private abstract class Call implements ResultPump.Job {
    final BackendCall call;
    final MonoSink<BackendResponse> response;
    private volatile boolean cancelled;
    @Nullable Prepared p;
    private int results;

    Call(BackendCall call, MonoSink<BackendResponse> response) {
      this.call = call;
      this.response = response;
    }

    final void cancel() {
      cancelled = true;
    }

    @Override
    public final boolean cancelled() {
      return cancelled;
    }

    @Override
    public final InferenceParameters start() {
      Prepared prepared = prepare(call);
      p = prepared;
      started(prepared);
      return prepared.params;
    }

    @Override
    public final void result(String text, boolean last) {
      if (!last) {
        results++;
        generatedTokens.incrementAndGet();
      }
      Prepared prepared = requireNonNull(p, "p");
      if (!text.isEmpty()) {
        text(prepared, text);
      }
      if (last) {
        boolean length = results >= prepared.maxTokens;
        ended(prepared, length ? prepared.maxTokens : results, length ? "length" : "stop");
      }
    }

    /** The call is prepared and about to be given to llama.cpp. */
    abstract void started(Prepared p);

    /** A non-empty piece of the completion. */
    abstract void text(Prepared p, String text);

    /** The engine is done; the call's last callback. */
    abstract void ended(Prepared p, int completionTokens, String finishReason);
  }

  private final class WholeCall extends Call {
    private final StringBuilder text = new StringBuilder();

    WholeCall(BackendCall call, MonoSink<BackendResponse> response) {
      super(call, response);
    }

    @Override
    void started(Prepared p) { }

    @Override
    void text(Prepared p, String piece) {
      text.append(piece);
    }

    @Override
    void ended(Prepared p, int completionTokens, String finishReason) {
      byte[] body = JSON.writeValueAsBytes(
          wholeAnswer(p, new Generated(text.toString(), completionTokens, finishReason)));
      response.success(new BackendResponse(200, "application/json", body.length, Flux.just(body)));
    }

    @Override
    public void failed(RuntimeException error) {
      response.error(failure(error));
    }
  }

  private final class StreamCall extends Call {
    private final Sinks.Many<byte[]> events = Sinks.many().unicast().onBackpressureBuffer();
    private boolean answered;
    private @Nullable TextEvents textEvents;

    StreamCall(BackendCall call, MonoSink<BackendResponse> response) {
      super(call, response);
    }

    @Override
    void started(Prepared p) {
      textEvents = TextEvents.of(event(chunk(p, "", null)),
          p.endpoint == Endpoint.CHAT_COMPLETIONS ? "content" : "text");
      answered = true;
      response.success(new BackendResponse(200, "text/event-stream", -1,
          events.asFlux().doOnCancel(this::cancel)));
      if (p.endpoint == Endpoint.CHAT_COMPLETIONS) {
        ObjectNode first = JSON.createObjectNode().put("role", "assistant").put("content", "");
        events.tryEmitNext(event(chunk(p, first, null)));
      }
    }

    @Override
    void text(Prepared p, String text) {
      events.tryEmitNext(requireNonNull(textEvents, "textEvents").render(text));
    }

    @Override
    void ended(Prepared p, int completionTokens, String finishReason) {
      events.tryEmitNext(event(chunk(p, p.endpoint == Endpoint.CHAT_COMPLETIONS
          ? JSON.createObjectNode() : "", finishReason)));
      if (p.includeUsage) {
        ObjectNode usage = envelope(p, "chat.completion.chunk", "text_completion");
        usage.putArray("choices");
        usage.set("usage", usage(p, new Generated("", completionTokens, finishReason)));
        events.tryEmitNext(event(usage));
      }
      events.tryEmitNext(DONE);
      events.tryEmitComplete();
    }

    @Override
    public void failed(RuntimeException error) {
      if (answered) {
        events.tryEmitError(failure(error));
      } else {
        response.error(failure(error));
      }
    }
  }

  private OpenAiException unavailable(String why) {
    return new OpenAiException(503, "server_error", "Model '" + name + "' " + why + ".",
        null, "model_unavailable");
  }

  private OpenAiException failure(RuntimeException e) {
    if (e instanceof OpenAiException o) {
      return o;
    }
    log.warn("Model '{}' failed a call", name, e);
    return new OpenAiException(500, "server_error",
        "Model '" + name + "' failed: " + e.getMessage(), null, "model_error");
  }

  /** A call read, templated, tokenized and checked: ready to generate. */
  private record Prepared(
      Endpoint endpoint,
      String id,
      long created,
      String prompt,
      int promptTokens,
      int maxTokens,
      boolean includeUsage,
      InferenceParameters params) {}

  private record Generated(String text, int completionTokens, String finishReason) {}

  /** The prompt tokens of a request: its templated prompt, encoded with the model's vocabulary. */
  @Override
  public long promptTokens(Endpoint endpoint, byte[] body) {
    JsonNode request = InspectedRequest.tree(body);
    if (!request.isObject()) {
      throw OpenAiException.invalidRequest("The request body must be a JSON object.", null);
    }
    String prompt = endpoint == Endpoint.CHAT_COMPLETIONS
        ? chatPrompt(request) : completionPrompt(request);
    return model.encode(prompt).length + (header.addBos() ? 1 : 0);
  }

  private Prepared prepare(BackendCall call) {
    JsonNode request = InspectedRequest.tree(call.body());
    if (!request.isObject()) {
      throw OpenAiException.invalidRequest("The request body must be a JSON object.", null);
    }
    JsonNode n = request.path("n");
    if (!n.isMissingNode() && !n.isNull() && !(n.isIntegralNumber() && n.asLong() == 1)) {
      throw OpenAiException.invalidRequest(
          "Invalid 'n': " + n + " (expected: 1; model '" + name + "' makes one choice).", "n");
    }
    String prompt = call.endpoint() == Endpoint.CHAT_COMPLETIONS
        ? chatPrompt(request) : completionPrompt(request);
    int promptTokens = model.encode(prompt).length + (header.addBos() ? 1 : 0);
    int room = options.contextPerSlot() - promptTokens;
    if (room < 1) {
      throw new OpenAiException(400, "invalid_request_error",
          "The prompt has " + promptTokens + " tokens; model '" + name + "' takes at most "
              + (options.contextPerSlot() - 1) + ".", "messages", "context_length_exceeded");
    }
    int maxTokens = room;
    for (String field : new String[] {"max_completion_tokens", "max_tokens"}) {
      JsonNode v = request.path(field);
      if (v.isNull() || v.isMissingNode()) {
        continue;
      }
      if (!v.isIntegralNumber() || v.asLong() < 1) {
        throw OpenAiException.invalidRequest(
            "Invalid '" + field + "': " + v + " (expected: an integer >= 1).", field);
      }
      maxTokens = (int) Math.min(room, v.asLong());
      break;
    }
    InferenceParameters params = new InferenceParameters(prompt)
        .setNPredict(maxTokens)
        .setCachePrompt(true)
        .setTemperature((float) number(request, "temperature", 1.0));
    optionalNumber(request, "top_p").ifPresent(v -> params.setTopP((float) v));
    optionalNumber(request, "min_p").ifPresent(v -> params.setMinP((float) v));
    optionalNumber(request, "presence_penalty").ifPresent(v -> params.setPresencePenalty((float) v));
    optionalNumber(request, "frequency_penalty").ifPresent(v -> params.setFrequencyPenalty((float) v));
    integer(request, "top_k").ifPresent(v -> params.setTopK((int) v));
    integer(request, "seed").ifPresent(v -> params.setSeed((int) v));
    List<String> stop = stops(request);
    if (!stop.isEmpty()) {
      params.setStopStrings(stop.toArray(String[]::new));
    }
    boolean includeUsage = request.path("stream_options").path("include_usage").asBoolean(false);
    String prefix = call.endpoint() == Endpoint.CHAT_COMPLETIONS ? "chatcmpl-" : "cmpl-";
    return new Prepared(call.endpoint(), prefix + call.requestId(),
        clock.instant().getEpochSecond(), prompt, promptTokens, maxTokens, includeUsage, params);
  }

  private String chatPrompt(JsonNode request) {
    JsonNode messages = request.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      throw OpenAiException.invalidRequest("'messages' must be a non-empty array.", "messages");
    }
    // vLLM's continue_final_message: the last message is the beginning of the assistant's answer,
    // to be continued rather than answered (how the gateway resumes a stream cut elsewhere). The
    // conversation before it is templated with its generation prompt, and the beginning follows.
    JsonNode last = messages.path(messages.size() - 1);
    String continued = "";
    if (request.path("continue_final_message").asBoolean(false) && messages.size() > 1
        && "assistant".equals(last.path("role").asString("")) && last.path("content").isString()) {
      continued = last.path("content").asString();
      tools.jackson.databind.node.ArrayNode before = JSON.createArrayNode();
      for (int i = 0; i < messages.size() - 1; i++) {
        before.add(messages.get(i));
      }
      messages = before;
    }
    ObjectNode templateInput = JSON.createObjectNode();
    templateInput.set("messages", messages);
    try {
      return model.applyTemplate(JSON.writeValueAsString(templateInput)) + continued;
    } catch (RuntimeException e) {
      throw OpenAiException.invalidRequest(
          "The messages do not fit the chat template of model '" + name + "': " + e.getMessage(),
          "messages");
    }
  }

  private static String completionPrompt(JsonNode request) {
    JsonNode prompt = request.path("prompt");
    if (prompt.isArray() && prompt.size() == 1) {
      prompt = prompt.get(0);
    }
    if (!prompt.isString()) {
      throw OpenAiException.invalidRequest(
          "'prompt' must be a string or an array of one string.", "prompt");
    }
    return prompt.stringValue();
  }

  private static List<String> stops(JsonNode request) {
    JsonNode stop = request.path("stop");
    List<String> out = new ArrayList<>();
    if (stop.isString()) {
      out.add(stop.stringValue());
    } else if (stop.isArray()) {
      for (JsonNode s : stop) {
        if (!s.isString()) {
          throw OpenAiException.invalidRequest("'stop' must be a string or strings.", "stop");
        }
        out.add(s.stringValue());
      }
    } else if (!stop.isMissingNode() && !stop.isNull()) {
      throw OpenAiException.invalidRequest("'stop' must be a string or an array.", "stop");
    }
    out.removeIf(String::isEmpty);
    return out;
  }

  private static double number(JsonNode request, String field, double fallback) {
    return optionalNumber(request, field).orElse(fallback);
  }

  private static java.util.OptionalDouble optionalNumber(JsonNode request, String field) {
    JsonNode v = request.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return java.util.OptionalDouble.empty();
    }
    if (!v.isNumber()) {
      throw OpenAiException.invalidRequest("'" + field + "' must be a number.", field);
    }
    return java.util.OptionalDouble.of(v.asDouble());
  }

  private static java.util.OptionalLong integer(JsonNode request, String field) {
    JsonNode v = request.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return java.util.OptionalLong.empty();
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw OpenAiException.invalidRequest("'" + field + "' must be an integer.", field);
    }
    return java.util.OptionalLong.of(v.asLong());
  }

  private ObjectNode wholeAnswer(Prepared p, Generated g) {
    ObjectNode answer = envelope(p, "chat.completion", "text_completion");
    ObjectNode choice = answer.putArray("choices").addObject();
    choice.put("index", 0);
    if (p.endpoint == Endpoint.CHAT_COMPLETIONS) {
      choice.putObject("message").put("role", "assistant").put("content", g.text);
    } else {
      choice.put("text", g.text);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", g.finishReason);
    answer.set("usage", usage(p, g));
    return answer;
  }

  /** One streamed chunk: {@code delta} is the chat delta object or the completion's text. */
  private ObjectNode chunk(Prepared p, Object delta, @Nullable String finishReason) {
    ObjectNode chunk = envelope(p, "chat.completion.chunk", "text_completion");
    ArrayNode choices = chunk.putArray("choices");
    ObjectNode choice = choices.addObject().put("index", 0);
    if (p.endpoint == Endpoint.CHAT_COMPLETIONS) {
      choice.set("delta", delta instanceof ObjectNode o
          ? o : JSON.createObjectNode().put("content", (String) delta));
    } else {
      choice.put("text", (String) delta);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    return chunk;
  }

  private ObjectNode envelope(Prepared p, String chatObject, String completionObject) {
    ObjectNode node = JSON.createObjectNode();
    node.put("id", p.id);
    node.put("object", p.endpoint == Endpoint.CHAT_COMPLETIONS ? chatObject : completionObject);
    node.put("created", p.created);
    node.put("model", name);
    return node;
  }

  private static ObjectNode usage(Prepared p, Generated g) {
    return JSON.createObjectNode()
        .put("prompt_tokens", p.promptTokens)
        .put("completion_tokens", g.completionTokens)
        .put("total_tokens", p.promptTokens + g.completionTokens);
  }

  private static byte[] event(ObjectNode json) {
    return SseFramer.dataEvent(JSON.writeValueAsBytes(json));
  }

  /**
   * Stops accepting calls; the running and waiting ones end with a 503 (running tasks are
   * cancelled in llama.cpp). Waits up to 30 seconds for the pump thread to end, then releases the
   * model; if it does not end in time the native model is left allocated rather than freed under
   * a running generation.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      if (!pump.close(Duration.ofSeconds(30))) {
        log.error("Model '{}' still generating 30s after close; its native memory is not freed",
            name);
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    model.close();
  }
}
