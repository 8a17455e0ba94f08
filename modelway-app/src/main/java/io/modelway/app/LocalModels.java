package io.modelway.app;

import io.modelway.backend.Backend;
import io.modelway.runtime.llama.LlamaCppBackend;
import io.modelway.runtime.llama.LlamaOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models this process runs itself. Loading logs each model's progress; a model that fails to
 * load is logged with the reason and left out, so one bad file never takes the process down.
 */
final class LocalModels implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalModels.class);

  private final Map<String, Backend> backends;
  private final List<AutoCloseable> owned;

  private LocalModels(Map<String, Backend> backends, List<AutoCloseable> owned) {
    this.backends = backends;
    this.owned = owned;
  }

  /** Loads every {@code NAME=PATH.gguf}, in order. */
  static LocalModels load(Map<String, Path> gguf, LlamaOptions options) {
    Map<String, Backend> backends = new LinkedHashMap<>();
    List<AutoCloseable> owned = new ArrayList<>();
    int index = 0;
    for (Map.Entry<String, Path> model : gguf.entrySet()) {
      index++;
      long started = System.nanoTime();
      log.info("Loading model {} of {}: {} from {} ({} slots, {} tokens of context)...", index,
          gguf.size(), model.getKey(), model.getValue(), options.slots(), options.contextSize());
      try {
        LlamaCppBackend backend = LlamaCppBackend.load(model.getKey(), model.getValue(), options);
        backends.put(model.getKey(), backend);
        owned.add(backend);
        log.info("Loaded model {} in {} ms", model.getKey(), (System.nanoTime() - started) / 1_000_000);
      } catch (RuntimeException e) {
        log.error("Model {} failed to load and is not served: {}", model.getKey(), e.getMessage());
      }
    }
    return new LocalModels(Map.copyOf(backends), owned);
  }

  /** The loaded models by name. */
  Map<String, Backend> backends() {
    return backends;
  }

  @Override
  public void close() {
    for (AutoCloseable model : owned) {
      try {
        model.close();
      } catch (Exception e) {
        log.warn("Closing a model failed: {}", e.toString());
      }
    }
  }
}
