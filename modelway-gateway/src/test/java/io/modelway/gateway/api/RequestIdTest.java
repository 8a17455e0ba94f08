package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RequestIdTest {

  @Test
  void generatedIdsAreWellFormedUniqueAndSortByTime() {
    String early = OpenAiHandler.newRequestId(1_700_000_000_000L);
    String late = OpenAiHandler.newRequestId(1_700_000_000_001L);
    assertThat(early).matches("req_[0-9a-f]{32}").startsWith("req_018bcfe56800");
    assertThat(late.compareTo(early)).isPositive();
    Set<String> sameMillisecond = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      sameMillisecond.add(OpenAiHandler.newRequestId(1_700_000_000_000L));
    }
    assertThat(sameMillisecond).hasSize(10_000);
  }
}
