package io.modelway.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class EmbeddingOptionsTest {

  @Test
  void defaultsToBatchesOf32AndAWaitOf2Milliseconds() {
    EmbeddingOptions defaults = EmbeddingOptions.defaults();

    assertThat(defaults.maxBatchSize()).isEqualTo(32);
    assertThat(defaults.maxWait()).isEqualTo(Duration.ofMillis(2));
    assertThat(defaults.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
  }

  @Test
  void keepsMicrosecondPrecisionOfMaxWait() {
    EmbeddingOptions options = EmbeddingOptions.defaults().withMaxWaitMicros(1_250);

    assertThat(options.maxWait().toNanos()).isEqualTo(1_250_000);
  }

  @Test
  void rejectsOutOfRangeValuesSayingWhatWasExpected() {
    assertThatThrownBy(() -> new EmbeddingOptions(0, Duration.ofMillis(2), 1))
        .hasMessage("maxBatchSize: 0 (expected: 1 to 2048)");
    assertThatThrownBy(() -> EmbeddingOptions.defaults().withMaxWaitMicros(-5))
        .hasMessage("maxWait: -0.000005s (expected: 0 to 1s)");
    assertThatThrownBy(() -> new EmbeddingOptions(32, Duration.ofSeconds(2), 1))
        .hasMessage("maxWait: 2s (expected: 0 to 1s)");
    assertThatThrownBy(() -> new EmbeddingOptions(32, Duration.ZERO, 0))
        .hasMessage("threads: 0 (expected: >= 1)");
  }
}
