package io.modelway.gateway.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import io.modelway.runtime.TokenCounter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TokenEstimatorTest {
  private static final tools.jackson.databind.json.JsonMapper JSON =
      tools.jackson.databind.json.JsonMapper.builder().build();
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

  private static WorstCase worst(TokenEstimator estimator, Endpoint endpoint, String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    return estimator.worstCase(InspectedRequest.inspect(endpoint, body), body);
  }

  /** Texts OpenAI's tokenizers make few tokens of, and a byte-level one up to one a byte. */
  private static final List<String> ADVERSARIAL = List.of("=".repeat(800), "!?".repeat(400),
      "日本語の文章".repeat(60), "\uD83D\uDE00\uD83D\uDC4D\uD83C\uDFFD".repeat(60),
      "1234567890".repeat(80), "QUJDREVGR0g=".repeat(60), "\u0000\t\"\\".repeat(100));

  @Test
  void theWorstCaseOfAPromptIsAtLeastOneTokenPerUtf8ByteOfItsText() {
    TokenEstimator estimator = new TokenEstimator(model -> Optional.empty());
    for (String text : ADVERSARIAL) {
      long bytes = text.getBytes(StandardCharsets.UTF_8).length;
      String chat = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
          + JSON.writeValueAsString(text) + "}],\"max_tokens\":7}";
      WorstCase chatCase = worst(estimator, Endpoint.CHAT_COMPLETIONS, chat);
      assertThat(chatCase.promptTokens()).as(text.substring(0, 8))
          .isGreaterThanOrEqualTo(bytes + WorstCase.PER_CALL + WorstCase.PER_MESSAGE)
          .isGreaterThan(tokens(estimator, Endpoint.CHAT_COMPLETIONS, chat));
      assertThat(chatCase.completionTokens()).isEqualTo(7);
      assertThat(chatCase.cap()).isEmpty();
      String parts = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
          + "{\"type\":\"text\",\"text\":" + JSON.writeValueAsString(text) + "},"
          + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}";
      assertThat(worst(estimator, Endpoint.CHAT_COMPLETIONS, parts).promptTokens())
          .isGreaterThanOrEqualTo(bytes + WorstCase.PER_MEDIA);
      String embed = "{\"model\":\"m\",\"input\":" + JSON.writeValueAsString(text) + "}";
      WorstCase embedding = worst(estimator, Endpoint.EMBEDDINGS, embed);
      assertThat(embedding.promptTokens()).isGreaterThanOrEqualTo(bytes);
      assertThat(embedding.completionTokens()).isZero();
    }
  }

  @Test
  void aModelRunHereBoundsItsPromptsByItsOwnCount() {
    TokenEstimator estimator = new TokenEstimator(
        model -> model.equals("tiny") ? Optional.of(LOCAL) : Optional.empty());
    assertThat(worst(estimator, Endpoint.COMPLETIONS,
        "{\"model\":\"tiny\",\"prompt\":\"hi\",\"max_tokens\":3}"))
        .isEqualTo(new WorstCase(1234, 3, java.util.OptionalInt.empty(), ""));
  }

  @Test
  void aCallWithoutMaxTokensIsCappedAndTheCapIsAddedAtTheEndOfItsBody() {
    TokenEstimator estimator = new TokenEstimator(model -> Optional.empty());
    String json = "{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} \n";
    WorstCase worst = worst(estimator, Endpoint.CHAT_COMPLETIONS, json);
    assertThat(worst.completionTokens()).isEqualTo(2L * WorstCase.DEFAULT_CAP);
    assertThat(worst.cap()).hasValue(WorstCase.DEFAULT_CAP);
    byte[] capped = worst.capped(json.getBytes(StandardCharsets.UTF_8));
    assertThat(JSON.readTree(capped).path("max_tokens").asInt()).isEqualTo(WorstCase.DEFAULT_CAP);
    assertThat(InspectedRequest.inspect(Endpoint.CHAT_COMPLETIONS, capped).maxTokens())
        .isEqualTo(WorstCase.DEFAULT_CAP);
    // A null max_tokens is there already: the cap goes in max_completion_tokens.
    byte[] nulled = worst(estimator, Endpoint.CHAT_COMPLETIONS, json.replace("\"n\":2",
        "\"max_tokens\":null")).capped(json.replace("\"n\":2", "\"max_tokens\":null")
        .getBytes(StandardCharsets.UTF_8));
    assertThat(JSON.readTree(nulled).path("max_completion_tokens").asInt())
        .isEqualTo(WorstCase.DEFAULT_CAP);
  }

  @Test
  void anAbsurdBestOfIsBoundedNotOverflowed() {
    TokenEstimator estimator = new TokenEstimator(model -> Optional.empty());
    WorstCase worst = worst(estimator, Endpoint.COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"x\","
        + "\"max_tokens\":2000000000,\"best_of\":9000000000000}");
    assertThat(worst.completionTokens()).isEqualTo(WorstCase.MAX);
    assertThat(worst.costNanos(new io.modelway.gateway.usage.Price("m", "USD",
        new java.math.BigDecimal("1000000"), java.math.BigDecimal.ONE,
        new java.math.BigDecimal("1000000")))).isEqualTo(Long.MAX_VALUE);
  }
}
