package io.modelway.gateway.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.runtime.TokenCounter;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TokenEstimatorTest {
  /** A local model's own count: a fixed number, so that its use is visible. */
  private static final TokenCounter LOCAL = (endpoint, body) -> 1234;

  private static long tokens(TokenEstimator estimator, Endpoint endpoint, String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    return estimator.promptTokens(InspectedRequest.inspect(endpoint, body), body);
  }

  @Test
  void aModelRunHereCountsItsOwnPromptsAndOthersAreEstimated() {
    TokenEstimator estimator = new TokenEstimator(
        model -> model.equals("tiny") ? Optional.of(LOCAL) : Optional.empty());
    String chat = "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
    assertThat(tokens(estimator, Endpoint.CHAT_COMPLETIONS, chat.formatted("tiny"))).isEqualTo(1234);
    long estimated = tokens(estimator, Endpoint.CHAT_COMPLETIONS, chat.formatted("gpt-4o"));
    assertThat(estimated).isBetween(5L, 20L);
    assertThat(tokens(estimator, Endpoint.EMBEDDINGS, "{\"model\":\"tiny\",\"input\":\"hello\"}"))
        .as("embeddings are estimated").isBetween(1L, 3L);
  }

  @Test
  void aPromptTheLocalModelRefusesIsEstimatedInstead() {
    TokenEstimator estimator = new TokenEstimator(model -> Optional.of((endpoint, body) -> {
      throw OpenAiException.invalidRequest("no chat template", null);
    }));
    assertThat(tokens(estimator, Endpoint.COMPLETIONS,
        "{\"model\":\"tiny\",\"prompt\":\"one two three\"}")).isBetween(2L, 5L);
  }
}
