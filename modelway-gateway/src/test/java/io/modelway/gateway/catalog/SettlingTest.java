package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When a file being written counts as finished; time is the test's. */
class SettlingTest {
  private static final long MS = 1_000_000;

  private final Settling settling = new Settling(Duration.ofMillis(300));

  private static Settling.Look look(String content, long modified) {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    return new Settling.Look(bytes.length, modified, bytes);
  }

  @Test
  void aFileSettlesOnceItLookedTheSameForTheWholeInterval() {
    Settling.Look done = look("models: []\n", 7);
    assertThat(settling.observe(done, 0)).isEmpty();
    assertThat(settling.observe(done, 150 * MS)).isEmpty();
    assertThat(settling.observe(done, 299 * MS)).isEmpty();
    assertThat(settling.observe(done, 300 * MS)).containsSame(done);
  }

  @Test
  void aTruncateThenWriteSettlesOnlyOnTheWrittenFile() {
    assertThat(settling.observe(look("models: [a]\n", 1), 0)).isEmpty();
    assertThat(settling.observe(look("", 2), 50 * MS)).as("truncated").isEmpty();
    assertThat(settling.observe(look("", 2), 300 * MS)).as("empty for 250 ms").isEmpty();
    Settling.Look written = look("models: [b]\n", 3);
    assertThat(settling.observe(written, 340 * MS)).isEmpty();
    assertThat(settling.observe(written, 600 * MS)).isEmpty();
    assertThat(settling.observe(written, 640 * MS)).containsSame(written);
  }

  @Test
  void aChangeOfModificationTimeOrContentAloneStartsTheWaitAgain() {
    assertThat(settling.observe(look("a", 1), 0)).isEmpty();
    assertThat(settling.observe(look("a", 2), 200 * MS)).as("touched").isEmpty();
    assertThat(settling.observe(look("a", 2), 400 * MS)).as("300 ms since the touch: not yet")
        .isEmpty();
    assertThat(settling.observe(look("b", 2), 450 * MS)).as("same size and time, new content")
        .isEmpty();
    assertThat(settling.observe(look("b", 2), 700 * MS)).isEmpty();
    assertThat(settling.observe(look("b", 2), 750 * MS)).isPresent();
  }

  @Test
  void aMissingFileSettlesAsMissing() {
    assertThat(settling.observe(Settling.Look.MISSING, 0)).isEmpty();
    assertThat(settling.observe(Settling.Look.MISSING, 300 * MS))
        .hasValueSatisfying(l -> assertThat(l.missing()).isTrue());
  }
}
