package io.modelway.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CpuClockTest {
  @Test
  void addsUserAndSystemTicksOfAProcStatLine() {
    // A command name with a space and a parenthesis; utime 1234 and stime 56 are fields 14 and 15.
    String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 30 0 "
        + "1000 9000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    assertThat(CpuClock.ticks(stat)).isEqualTo(1290);
  }

  @Test
  void countsBusyTicksOfTheMachineWithoutIdleAndIowait() {
    // user nice system idle iowait irq softirq steal guest guest_nice
    String cpu = "cpu  304465 7 55185 190636 1378 11 2369 6970 0 0";

    assertThat(CpuClock.busyTicks(cpu)).isEqualTo(304465 + 7 + 55185 + 11 + 2369 + 6970);
  }
}
