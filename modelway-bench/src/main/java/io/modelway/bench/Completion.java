package io.modelway.bench;

import static java.util.Objects.requireNonNull;

/**
 * One generated completion.
 *
 * @param tokens completion tokens: counted from the engine's results (direct) or taken from the
 *     answer's {@code usage.completion_tokens} (API)
 * @param text the generated text; empty when the caller did not ask to keep it
 */
record Completion(int tokens, String text) {
  Completion {
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
    }
    requireNonNull(text, "text");
  }
}
