package io.modelway.app;

import static java.util.Objects.requireNonNull;

import io.modelway.runtime.ModelHost;
import io.modelway.runtime.ModelRuntime;
import io.modelway.runtime.llama.GgufHeader;
import io.modelway.runtime.llama.LlamaCppBackend;
import io.modelway.runtime.llama.LlamaOptions;
import io.modelway.runtime.onnx.EmbeddingOptions;
import io.modelway.runtime.onnx.OnnxEmbeddingBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a model's source into a running model: {@code builtin:all-minilm-l6-v2} is the embedding
 * model inside Modelway (ONNX Runtime); anything else is a GGUF file for llama.cpp, its path
 * absolute or under {@code DATA_DIR/models} (where {@code modelway pull} puts files).
 */
final class RuntimeLoader implements ModelHost.Loader {
  private static final Logger log = LoggerFactory.getLogger(RuntimeLoader.class);
  /** The embedding model every {@code up} and {@code worker} serves unless told not to. */
  static final String DEFAULT_EMBEDDING_MODEL = "all-minilm-l6-v2";
  static final String BUILTIN = "builtin:";
  /** How long an unloaded model waits for its calls in flight before it is closed anyway. */
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

  private final Path modelsDir;
  private final LlamaOptions llama;
  private final EmbeddingOptions embedding;

  RuntimeLoader(Path modelsDir, LlamaOptions llama, EmbeddingOptions embedding) {
    this.modelsDir = requireNonNull(modelsDir, "modelsDir");
    this.llama = requireNonNull(llama, "llama");
    this.embedding = requireNonNull(embedding, "embedding");
  }

  @Override
  public ModelRuntime load(ModelHost.ModelSpec spec) {
    String source = spec.source();
    if (source.startsWith(BUILTIN)) {
      String builtin = source.substring(BUILTIN.length());
      if (!builtin.equals(DEFAULT_EMBEDDING_MODEL)) {
        throw new IllegalArgumentException("no built-in model '" + builtin + "' (expected: "
            + BUILTIN + DEFAULT_EMBEDDING_MODEL + ")");
      }
      return OnnxEmbeddingBackend.load(spec.name(), embedding);
    }
    Path file = Path.of(source);
    if (!file.isAbsolute()) {
      file = modelsDir.resolve(file);
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + file);
    }
    // llama.cpp reports no loading progress through its Java binding; say what is being loaded
    // and how big it is, so a long load is expected. The host logs the time it took.
    GgufHeader header = GgufHeader.read(file);
    log.info("Model '{}': {} {} GGUF, {}, {} slots of {} tokens", spec.name(),
        header.architecture(), header.quantization(), ModelsCommand.humanSize(header.fileSize()),
        llama.slots(), llama.contextSize() / llama.slots());
    return LlamaCppBackend.load(spec.name(), file, llama);
  }

  /**
   * A host that loads models one at a time on a thread of its own, so the server answers (and
   * reports "loading" in its health) while they load.
   */
  static ModelHost host(RuntimeLoader loader) {
    ExecutorService loading = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "model-loader");
      t.setDaemon(true);
      return t;
    });
    return new ModelHost(loader, loading, Clock.systemUTC(), DRAIN_TIMEOUT);
  }
}
