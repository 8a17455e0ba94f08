package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AccountingTest {

  /** Regression: new ids sort with those String.format made, which the ledger already holds. */
  @Test
  void idsHaveTheFormatTheyHadWithStringFormat() {
    long[] millis = {0, 1, 1_700_000_000_000L, 1_795_977_001_123L, (1L << 44) - 1};
    int[] highs = {0, 1, 0x7fffffff, -1, Integer.MIN_VALUE, 0x0abc0def};
    long[] lows = {0, 1, Long.MAX_VALUE, -1, Long.MIN_VALUE, 0x00ff00ff00ff00ffL};
    for (long m : millis) {
      for (int high : highs) {
        for (long low : lows) {
          assertThat(Accounting.id(m, high, low))
              .isEqualTo(String.format("u%011x%08x%016x", m, high, low));
        }
      }
    }
  }

  @Test
  void newIdsAreWellFormedUniqueAndSortByTime() {
    String early = Accounting.newId(Instant.ofEpochMilli(1_700_000_000_000L));
    String late = Accounting.newId(Instant.ofEpochMilli(1_700_000_000_001L));
    assertThat(early).hasSize(36).matches("u[0-9a-f]{35}").startsWith("u18bcfe56800");
    assertThat(late.compareTo(early)).isPositive();
    Set<String> sameMillisecond = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      sameMillisecond.add(Accounting.newId(Instant.ofEpochMilli(1_700_000_000_000L)));
    }
    assertThat(sameMillisecond).hasSize(10_000);
  }
}
