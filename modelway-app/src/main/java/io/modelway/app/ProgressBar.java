package io.modelway.app;

import static java.util.Objects.requireNonNull;

import io.modelway.app.hub.DownloadListener;
import java.io.Console;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A download's progress on the error stream: bytes done and total, percent, speed and time left.
 * On a terminal one line is redrawn in place ({@code \r}) at most every 200 ms; otherwise (a log
 * file, a CI job) a line is printed at each tenth of the file, so that logs stay short.
 *
 * <p>Hand-written rather than {@code me.tongfei:progressbar}: that library brings JLine for the
 * terminal width, writes to a {@code PrintStream} rather than picocli's writers, and has no
 * line-per-tenth mode for logs — the three things this command needs. The renderer is this
 * class.
 *
 * <p>Speed is the average since this run's transfer began (bytes resumed from disk do not count),
 * read from the injected {@code nanoTime}. Not thread-safe: the downloading thread calls it.
 */
final class ProgressBar implements DownloadListener {
  private static final long REDRAW_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final int WIDTH = 24;

  private final PrintWriter err;
  private final boolean terminal;
  private final LongSupplier nanoTime;
  private long size;
  private long startedAt;
  private long startBytes;
  private long lastDrawAt;
  private int lastTenth;
  private int lastLength;
  private boolean drawn;

  /**
   * A bar written to {@code err}, redrawn in place when {@code terminal}, timed by
   * {@code nanoTime} (such as {@code System::nanoTime}).
   */
  ProgressBar(PrintWriter err, boolean terminal, LongSupplier nanoTime) {
    this.err = requireNonNull(err, "err");
    this.terminal = terminal;
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  /**
   * Whether this process writes to a terminal: {@code System.console()} on Java 17 to 21, and
   * {@code Console.isTerminal()} from Java 22 on, where a console exists even when redirected.
   */
  static boolean isTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return (Boolean) isTerminal.invoke(console);
    } catch (ReflectiveOperationException e) {
      return true;
    }
  }

  @Override
  public void checking(long bytes) {
    message("Checking the " + ModelsCommand.humanSize(bytes) + " already on disk...");
  }

  @Override
  public void started(long size, long done) {
    this.size = size;
    this.startedAt = nanoTime.getAsLong();
    this.startBytes = done;
    this.lastTenth = tenth(done);
    if (done > 0) {
      message("Resuming after " + ModelsCommand.humanSize(done) + " of " + ModelsCommand.humanSize(size) + ".");
    }
    if (terminal) {
      draw(done);
    }
  }

  @Override
  public void progressed(long done) {
    long now = nanoTime.getAsLong();
    if (terminal) {
      if (now - lastDrawAt >= REDRAW_NANOS || done == size) {
        draw(done);
      }
    } else if (tenth(done) > lastTenth) {
      lastTenth = tenth(done);
      err.println(status(done, now));
      err.flush();
    }
  }

  @Override
  public void retrying(String reason, long done, int attempt, int attempts) {
    message("The transfer broke after " + ModelsCommand.humanSize(done) + " (" + reason + "); resuming, attempt "
        + attempt + " of " + attempts + ".");
    startedAt = nanoTime.getAsLong();
    startBytes = done;
  }

  @Override
  public void restarted(String reason) {
    message("Starting over: " + reason + ".");
    startedAt = nanoTime.getAsLong();
    startBytes = 0;
    lastTenth = 0;
  }

  @Override
  public void finished(long size) {
    if (terminal) {
      draw(size);
      err.println();
      drawn = false;
      err.flush();
    }
  }

  private void draw(long done) {
    long now = nanoTime.getAsLong();
    lastDrawAt = now;
    int filled = size == 0 ? WIDTH : (int) (WIDTH * done / size);
    String bar = "[" + "=".repeat(filled) + (filled < WIDTH ? ">" + " ".repeat(WIDTH - filled - 1) : "") + "] ";
    String line = bar + status(done, now);
    err.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
    err.flush();
    lastLength = line.length();
    drawn = true;
  }

  /** {@code  40%  1.0 GiB / 2.5 GiB  12.3 MiB/s  ETA 2m05s}. */
  private String status(long done, long now) {
    int percent = size == 0 ? 100 : (int) (100 * done / size);
    double seconds = (now - startedAt) / 1e9;
    double speed = seconds > 0 ? (done - startBytes) / seconds : 0;
    String eta = speed > 0 ? duration((long) Math.ceil((size - done) / speed)) : "--";
    return String.format(Locale.ROOT, "%3d%%  %s / %s  %s/s  ETA %s", percent,
        ModelsCommand.humanSize(done), ModelsCommand.humanSize(size),
        ModelsCommand.humanSize((long) speed), eta);
  }

  private int tenth(long done) {
    return size == 0 ? 10 : (int) (10 * done / size);
  }

  private void message(String text) {
    if (drawn) {
      err.println();
      drawn = false;
      lastLength = 0;
    }
    err.println(text);
    err.flush();
  }

  static String duration(long seconds) {
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  }
}
