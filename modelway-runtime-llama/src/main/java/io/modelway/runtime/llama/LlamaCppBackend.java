package io.modelway.runtime.llama;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.LogLevel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import io.modelway.runtime.ModelRuntime;
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
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A GGUF model run in this JVM by llama.cpp ({@code de.kherud:llama}), answering chat completions
 * and completions; embeddings are refused with 400.
 *
 * <p>Generation is blocking JNI and runs on an executor owned by the backend, one thread per slot,
 * with at most {@value #QUEUE_PER_SLOT} waiting calls per slot (beyond that: 503). The result of
 * {@link #send} completes once the prompt was templated and tokenized on that executor; a stream's
 * body then carries one event per generated token. Cancelling the result or the body stops
 * generation after the token being computed.
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
public final class LlamaCppBackend implements ModelRuntime {
  private static final Logger log = LoggerFactory.getLogger(LlamaCppBackend.class);
  private static final Logger engineLog = LoggerFactory.getLogger("io.modelway.runtime.llama.engine");
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
  static final int QUEUE_PER_SLOT = 64;

  private final String name;
  private final LlamaOptions options;
  private final GgufHeader header;
  private final LlamaModel model;
  private final ThreadPoolExecutor executor;
  private final Clock clock;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicLong generatedTokens =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.Set<AtomicBoolean> running =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private LlamaCppBackend(String name, Path file, LlamaOptions options, Clock clock) {
    this.name = name;
    this.options = options;
    this.clock = clock;
    this.header = GgufHeader.read(file);
    this.model = load(file, options);
    AtomicInteger threadNumber = new AtomicInteger();
    this.executor = new ThreadPoolExecutor(
        options.slots(), options.slots(), 0, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(options.slots() * QUEUE_PER_SLOT),
        r -> {
          Thread t = new Thread(r, "llama-" + name + "-" + threadNumber.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
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
    return new Load(options.slots(), executor.getActiveCount(), executor.getQueue().size(),
        generatedTokens.get());
  }

  /** Tokens generated since loading, over all calls (as counted for usage). */
  long generatedTokens() {
    return generatedTokens.get();
  }

  /** Calls being generated or waiting for a slot. */
  int activeCalls() {
    return executor.getActiveCount() + executor.getQueue().size();
  }

  @Override
  public Mono<BackendResponse> send(BackendCall call) {
    requireNonNull(call, "call");
    if (call.endpoint() == Endpoint.EMBEDDINGS) {
      return Mono.error(OpenAiException.invalidRequest(
          "The model '" + name + "' does not serve embeddings.", "model"));
    }
    return call.stream() ? stream(call) : whole(call);
  }

  private Mono<BackendResponse> whole(BackendCall call) {
    return Mono.create(sink -> {
      AtomicBoolean cancelled = new AtomicBoolean();
      sink.onCancel(() -> cancelled.set(true));
      submit(sink::error, cancelled, () -> {
        Prepared p = prepare(call);
        Generated g = generate(p, text -> { }, cancelled);
        byte[] body = JSON.writeValueAsBytes(wholeAnswer(p, g));
        sink.success(new BackendResponse(200, "application/json", body.length, Flux.just(body)));
      });
    });
  }

  private Mono<BackendResponse> stream(BackendCall call) {
    return Mono.create(sink -> {
      AtomicBoolean cancelled = new AtomicBoolean();
      sink.onCancel(() -> cancelled.set(true));
      submit(sink::error, cancelled, () -> {
        Prepared p = prepare(call);
        Sinks.Many<byte[]> events = Sinks.many().unicast().onBackpressureBuffer();
        Flux<byte[]> body = events.asFlux().doOnCancel(() -> cancelled.set(true));
        sink.success(new BackendResponse(200, "text/event-stream", -1, body));
        try {
          if (p.endpoint == Endpoint.CHAT_COMPLETIONS) {
            ObjectNode first = JSON.createObjectNode().put("role", "assistant").put("content", "");
            events.tryEmitNext(event(chunk(p, first, null)));
          }
          Generated g = generate(p, text -> events.tryEmitNext(event(chunk(p, text, null))),
              cancelled);
          if (cancelled.get()) {
            return;
          }
          events.tryEmitNext(event(chunk(p, p.endpoint == Endpoint.CHAT_COMPLETIONS
              ? JSON.createObjectNode() : "", g.finishReason)));
          if (p.includeUsage) {
            ObjectNode usage = envelope(p, "chat.completion.chunk", "text_completion");
            usage.putArray("choices");
            usage.set("usage", usage(p, g));
            events.tryEmitNext(event(usage));
          }
          events.tryEmitNext(DONE);
          events.tryEmitComplete();
        } catch (RuntimeException e) {
          events.tryEmitError(failure(e));
        }
      });
    });
  }

  private void submit(Consumer<Throwable> onError, AtomicBoolean cancelled, Runnable work) {
    if (closed.get()) {
      onError.accept(unavailable("is shut down"));
      return;
    }
    try {
      executor.execute(() -> {
        if (cancelled.get()) {
          return;
        }
        if (closed.get()) {
          onError.accept(unavailable("is shut down"));
          return;
        }
        running.add(cancelled);
        try {
          work.run();
        } catch (RuntimeException e) {
          onError.accept(failure(e));
        } finally {
          running.remove(cancelled);
        }
      });
    } catch (RejectedExecutionException e) {
      onError.accept(closed.get()
          ? unavailable("is shut down")
          : unavailable("is overloaded: " + executor.getQueue().size() + " calls wait"));
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

  /**
   * Runs the engine until it stops, {@code cancelled} is set, or the budget is spent; hands each
   * non-empty piece of text to {@code onText} as it comes. Blocks: executor threads only.
   */
  private Generated generate(Prepared p, Consumer<String> onText, AtomicBoolean cancelled) {
    StringBuilder text = new StringBuilder();
    int results = 0;
    LlamaIterator it = model.generate(p.params).iterator();
    while (it.hasNext()) {
      if (cancelled.get()) {
        it.cancel();
        break;
      }
      LlamaOutput out = it.next();
      boolean last = !it.hasNext();
      if (!last) {
        results++;
        generatedTokens.incrementAndGet();
      }
      if (!out.text.isEmpty()) {
        text.append(out.text);
        onText.accept(out.text);
      }
    }
    boolean length = results >= p.maxTokens;
    return new Generated(text.toString(), length ? p.maxTokens : results, length ? "length" : "stop");
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
   * Stops accepting calls, cancels the running ones, waits up to 30 seconds for them to end, and
   * releases the model. If a generation does not end in time the native model is left allocated
   * rather than freed under a running thread.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    executor.shutdown(); // queued calls still run, and fail at once with 503
    running.forEach(flag -> flag.set(true));
    try {
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
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
