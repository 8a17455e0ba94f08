package io.modelway.app;

import io.modelway.runtime.llama.LlamaOptions;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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

  LlamaOptions llamaOptions() {
    return new LlamaOptions(slots, contextSize, Runtime.getRuntime().availableProcessors());
  }
}
