package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
  private final StringWriter text = new StringWriter();
  private final AtomicLong now = new AtomicLong();

  private ProgressBar bar(boolean terminal) {
    return new ProgressBar(new PrintWriter(text), terminal, now::get);
  }

  private void advanceMillis(long millis) {
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  @Test
  void printsALineAtEachTenthWhenNotATerminal() {
    ProgressBar bar = bar(false);
    bar.started(1000, 0);
    for (long done = 50; done <= 1000; done += 50) {
      advanceMillis(1000);
      bar.progressed(done);
    }
    bar.finished(1000);

    assertThat(text.toString()).doesNotContain("\r");
    assertThat(text.toString().lines()).hasSize(10)
        .startsWith(" 10%  100 B / 1000 B  50 B/s  ETA 18s")
        .endsWith("100%  1000 B / 1000 B  50 B/s  ETA 0s");
  }

  @Test
  void redrawsOneLineInPlaceOnATerminalAtMostEvery200Ms() {
    ProgressBar bar = bar(true);
    bar.started(1000, 0);
    advanceMillis(100);
    bar.progressed(100);
    advanceMillis(200);
    bar.progressed(200);
    advanceMillis(100);
    bar.progressed(300);

    String drawn = text.toString();
    assertThat(drawn.chars().filter(c -> c == '\r')).hasSize(2);
    assertThat(drawn).doesNotContain("\n").endsWith(" 20%  200 B / 1000 B  666 B/s  ETA 2s");
    assertThat(drawn).contains("[====>                   ]");

    advanceMillis(1000);
    bar.finished(1000);
    assertThat(text.toString()).endsWith("[========================] 100%  1000 B / 1000 B  714 B/s  ETA 0s\n");
  }

  @Test
  void startsANewLineForAMessageDuringTheBar() {
    ProgressBar bar = bar(true);
    bar.started(1000, 0);
    advanceMillis(500);
    bar.progressed(400);
    bar.retrying("the connection broke: EOF", 400, 2, 5);

    assertThat(text.toString()).contains("ETA 1s\nThe transfer broke after 400 B (the connection broke: EOF); resuming, attempt 2 of 5.\n");
  }

  @Test
  void measuresSpeedFromWhereAResumedDownloadStarted() {
    ProgressBar bar = bar(false);
    bar.started(1000, 500);
    advanceMillis(1000);
    bar.progressed(600);

    assertThat(text.toString().lines())
        .containsExactly("Resuming after 500 B of 1000 B.", " 60%  600 B / 1000 B  100 B/s  ETA 4s");
  }

  @Test
  void writesDurationsInHoursMinutesAndSeconds() {
    assertThat(ProgressBar.duration(59)).isEqualTo("59s");
    assertThat(ProgressBar.duration(125)).isEqualTo("2m05s");
    assertThat(ProgressBar.duration(7260)).isEqualTo("2h01m");
  }
}
