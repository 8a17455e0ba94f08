package io.modelway.app;

import io.modelway.runtime.ModelHost;
import io.modelway.runtime.llama.LlamaOptions;
import io.modelway.runtime.onnx.EmbeddingOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** The options of commands that run models in this process ({@code up}, {@code worker}). */
final class ModelFlags {
  @Option(names = "--model", paramLabel = "NAME=PATH.gguf",
      description = "A GGUF model to run in this process, served as NAME. Repeatable.")
  Map<String, Path> models = new LinkedHashMap<>();

  @Option(names = "--slots", defaultValue = "4", paramLabel = "N",
      description = "Requests each GGUF model generates at once, batched together (default: ${DEFAULT-VALUE}).")
  int slots = 4;

  @Option(names = "--context-size", defaultValue = "2048", paramLabel = "TOKENS",
      description = "KV cache of each GGUF model in tokens, shared by its slots (default: ${DEFAULT-VALUE}).")
  int contextSize = 2048;

  @Option(names = "--threads", paramLabel = "N",
      description = "CPU threads each GGUF model computes with (default: half the available processors, at least 1).")
  @Nullable Integer threads;

  @Option(names = "--no-embedding-model", negatable = false,
      description = "Do not serve the built-in embedding model " + RuntimeLoader.DEFAULT_EMBEDDING_MODEL + ".")
  boolean noEmbeddingModel;

  @Option(names = "--embedding-max-batch", defaultValue = "32", paramLabel = "N",
      description = "Most embedding inputs computed in one model call (default: ${DEFAULT-VALUE}).")
  int embeddingMaxBatch = 32;

  @Option(names = "--embedding-max-wait", defaultValue = "2ms", paramLabel = "DURATION",
      description = "Longest an embedding input waits for others to batch with, e.g. 500us (default: ${DEFAULT-VALUE}).")
  Duration embeddingMaxWait = Duration.ofMillis(2);

  @Option(names = "--embedding-threads", paramLabel = "N",
      description = "CPU threads the embedding model computes one batch with (ONNX Runtime's intra-op threads; default: the available processors).")
  @Nullable Integer embeddingThreads;

  LlamaOptions llamaOptions() {
    int processors = Runtime.getRuntime().availableProcessors();
    return new LlamaOptions(slots, contextSize,
        threads != null ? threads : LlamaOptions.defaultThreads(processors));
  }

  EmbeddingOptions embeddingOptions() {
    return new EmbeddingOptions(embeddingMaxBatch, embeddingMaxWait,
        embeddingThreads != null ? embeddingThreads : Runtime.getRuntime().availableProcessors());
  }

  /** The models to load at start, in order: the built-in embedding model first (it is quick). */
  List<ModelHost.ModelSpec> specs() {
    List<ModelHost.ModelSpec> specs = new ArrayList<>();
    if (!noEmbeddingModel && !models.containsKey(RuntimeLoader.DEFAULT_EMBEDDING_MODEL)) {
      specs.add(new ModelHost.ModelSpec(RuntimeLoader.DEFAULT_EMBEDDING_MODEL,
          RuntimeLoader.BUILTIN + RuntimeLoader.DEFAULT_EMBEDDING_MODEL));
    }
    models.forEach((name, file) ->
        specs.add(new ModelHost.ModelSpec(name, file.toAbsolutePath().toString())));
    return specs;
  }

  /** A host for this process's models that starts loading them now, one after the other. */
  ModelHost startLoading(Path dataDir) {
    ModelHost host = RuntimeLoader.host(
        new RuntimeLoader(dataDir.resolve("models"), llamaOptions(), embeddingOptions()));
    specs().forEach(host::load);
    return host;
  }
}
