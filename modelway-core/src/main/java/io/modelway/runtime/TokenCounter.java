package io.modelway.runtime;

import io.modelway.openai.Endpoint;

/**
 * A model that counts a request's prompt tokens with its own tokenizer (a GGUF model's
 * vocabulary and chat template), as it will when it runs the request. Thread-safe; CPU work on
 * the calling thread, proportional to the prompt.
 */
public interface TokenCounter {

  /**
   * The prompt tokens {@code body}, a request to {@code endpoint}, will take.
   *
   * @throws io.modelway.openai.OpenAiException when the body is not a request the model takes
   */
  long promptTokens(Endpoint endpoint, byte[] body);
}
