package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MeteringTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void readsTheUsageOfAWholeAnswer() {
    Metering m = new Metering();
    m.whole(b("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"the \\\"usage\\\": 99 words\"}}],"
        + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
        + "\"prompt_tokens_details\":{\"cached_tokens\":8},\"completion_tokens_details\":{\"x\":[1,2]}}}"));
    assertThat(m.reported).isTrue();
    assertThat(m.promptTokens).isEqualTo(12);
    assertThat(m.completion()).isEqualTo(5);
    assertThat(m.cachedTokens).isEqualTo(8);
  }

  @Test
  void takesAStreamsUsageChunkAndCountsTextChunksWithoutOne() {
    Metering withUsage = new Metering();
    withUsage.events(b("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n"));
    withUsage.events(b("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n"
        + "data: [DONE]\n\n"));
    assertThat(withUsage.reported).isTrue();
    assertThat(withUsage.completion()).isEqualTo(2);

    Metering counted = new Metering();
    counted.events(b("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"));
    counted.events(b("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"));
    counted.events(b("data: {\"choices\":[{\"text\":\"b\"}]}\n\ndata: [DONE]\n\n"));
    assertThat(counted.reported).isFalse();
    assertThat(counted.completion()).isEqualTo(2);
  }

  @Test
  void recognisesTheEndOfAStream() {
    assertThat(Metering.endsWithDone(b("data: {}\n\ndata: [DONE]\n\n"))).isTrue();
    assertThat(Metering.endsWithDone(b("data: {\"x\":\"data: [DONE]\"}\n\n"))).isFalse();
  }
}
