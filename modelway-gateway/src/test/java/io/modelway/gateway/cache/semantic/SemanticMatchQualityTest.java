package io.modelway.gateway.cache.semantic;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.cache.semantic.SemanticCacheEvaluation.Row;
import io.modelway.gateway.cache.semantic.SemanticCacheEvaluation.Scored;
import io.modelway.runtime.onnx.EmbeddingOptions;
import io.modelway.runtime.onnx.OnnxEmbeddingBackend;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The quality gate of the semantic cache: the real embedding model over the labelled pairs of
 * {@code bench/semantic-cache/pairs.tsv} must reach the targets at {@link
 * SemanticMatch#DEFAULT_THRESHOLD}. Fails when the model, the guard, the pairs or the default
 * change so that they no longer do.
 */
class SemanticMatchQualityTest {
  @Test
  void defaultThresholdReachesPrecisionAndRecallTargetsWithTheRealModel() {
    List<Scored> scored;
    try (OnnxEmbeddingBackend model = OnnxEmbeddingBackend.load("all-minilm-l6-v2",
        new EmbeddingOptions(64, Duration.ofMillis(1), 2))) {
      scored = SemanticCacheEvaluation.score(model,
          SemanticCacheEvaluation.readPairs(SemanticCacheEvaluation.pairsFile()));
    }
    assertThat(scored).hasSizeGreaterThanOrEqualTo(300);

    Row row = SemanticCacheEvaluation.at(scored, SemanticMatch.DEFAULT_THRESHOLD);

    assertThat(row.guarded().precision()).as("precision at %s", SemanticMatch.DEFAULT_THRESHOLD)
        .isGreaterThanOrEqualTo(SemanticCacheEvaluation.TARGET_PRECISION);
    assertThat(row.guarded().recall()).as("recall at %s", SemanticMatch.DEFAULT_THRESHOLD)
        .isGreaterThanOrEqualTo(SemanticCacheEvaluation.TARGET_RECALL);
    // The guard is what makes the threshold usable: similarity alone is far less precise.
    assertThat(row.similarityOnly().precision()).isLessThan(row.guarded().precision());
  }
}
