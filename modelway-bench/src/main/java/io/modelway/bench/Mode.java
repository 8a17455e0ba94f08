package io.modelway.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How the benchmark generates: the binding in this JVM, or Modelway's API over HTTP. */
enum Mode {
  /** {@code LlamaModel.generate} in this JVM: no HTTP, no gateway. */
  DIRECT("direct", "llama.cpp binding in one JVM"),
  /**
   * An experiment: the binding in this JVM driven by one receiver thread for all calls
   * ({@link PumpedBinding}), as a product-side change to {@code LlamaCppBackend} would.
   */
  DIRECT_PUMP("direct-pump", "binding in one JVM, one receiver thread (experiment)"),
  /** {@code POST /v1/chat/completions} with {@code "stream": true}: one SSE event per token. */
  API_STREAM("api-stream", "Modelway API, streamed (SSE)"),
  /** {@code POST /v1/chat/completions} without streaming: one JSON answer per request. */
  API_WHOLE("api-whole", "Modelway API, not streamed");

  private final String key;
  private final String label;

  Mode(String key, String label) {
    this.key = key;
    this.label = label;
  }

  /** The name used on the command line and in the results. */
  String key() {
    return key;
  }

  /** Whether the mode goes through Modelway's API (the target applies to those). */
  boolean api() {
    return this == API_STREAM || this == API_WHOLE;
  }

  /** What the mode measures, for the report. */
  String label() {
    return label;
  }

  /**
   * The mode named {@code key}.
   *
   * @throws IllegalArgumentException naming the modes there are
   */
  static Mode of(String key) {
    for (Mode mode : values()) {
      if (mode.key.equals(key)) {
        return mode;
      }
    }
    throw new IllegalArgumentException("mode: " + key + " (expected one of: "
        + Arrays.stream(values()).map(Mode::key).collect(Collectors.joining(", ")) + ")");
  }

  @Override
  public String toString() {
    return key;
  }
}
