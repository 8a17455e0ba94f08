package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ChaosTest {

  @Test
  void hangStallsASequenceOnceItHasSentItsTokensUntilTheHangEnds() {
    Chaos chaos = new Chaos(2);
    assertThat(chaos.gate(5)).isDone();

    assertThat(chaos.switchTo(ChaosMode.HANG)).isEqualTo(ChaosMode.NORMAL);
    assertThat(chaos.gate(0)).isDone();
    assertThat(chaos.gate(1)).isDone();
    CompletableFuture<Void> stalled = chaos.gate(2);
    CompletableFuture<Void> other = chaos.gate(7);
    assertThat(stalled).isNotDone();

    stalled.cancel(false); // one client goes away: the others stay stalled
    assertThat(other).isNotDone();
    assertThat(chaos.switchTo(ChaosMode.NORMAL)).isEqualTo(ChaosMode.HANG);
    assertThat(other).isCompleted();
    assertThat(chaos.gate(2)).isDone();
  }

  @Test
  void leavingHangForFailReleasesTheStalledSequences() {
    Chaos chaos = new Chaos(0);
    chaos.switchTo(ChaosMode.HANG);
    CompletableFuture<Void> stalled = chaos.gate(0);
    chaos.switchTo(ChaosMode.FAIL);
    assertThat(stalled).isCompleted();
    assertThat(chaos.mode()).isEqualTo(ChaosMode.FAIL);
  }

  @Test
  void dieIsFinal() {
    Chaos chaos = new Chaos(1);
    assertThat(chaos.switchTo(ChaosMode.DIE)).isEqualTo(ChaosMode.NORMAL);
    assertThat(chaos.switchTo(ChaosMode.NORMAL)).isEqualTo(ChaosMode.DIE);
    assertThat(chaos.mode()).isEqualTo(ChaosMode.DIE);
  }

  @Test
  void switchingToTheSameModeChangesNothing() {
    Chaos chaos = new Chaos(0);
    chaos.switchTo(ChaosMode.HANG);
    CompletableFuture<Void> stalled = chaos.gate(0);
    assertThat(chaos.switchTo(ChaosMode.HANG)).isEqualTo(ChaosMode.HANG);
    assertThat(stalled).isNotDone();
  }
}
