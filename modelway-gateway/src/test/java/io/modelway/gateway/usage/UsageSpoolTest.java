package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where and when the spool writes: an event loop's records after the loop's work at hand, by
 * that loop; anyone else's before {@code append} returns; with fsync, by its writer thread.
 */
class UsageSpoolTest {
  @TempDir
  Path dir;

  private final EventLoop loop = new DefaultEventLoop();

  @AfterEach
  void stopLoop() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private static UsageRecord record(String id) {
    return new UsageRecord(id, Instant.parse("2026-11-29T10:00:00Z"), "req-" + id, "acme",
        Optional.empty(), "key_1", "chat/completions", "chat", Optional.of("sim"), 200,
        "completed", 10, 5, 0, true, 3, OptionalLong.empty(), false, Optional.empty(),
        OptionalLong.empty(), Optional.empty());
  }

  private List<String> spooledIds(UsageSpool spool) throws IOException {
    List<String> ids = new ArrayList<>();
    for (String line : Files.readAllLines(spool.current())) {
      byte[] bytes = line.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ids.add(UsageSpool.decode(bytes, 0, bytes.length).id());
    }
    return ids;
  }

  @Test
  void recordsAppendedOnAnEventLoopAreWrittenByThatLoopOnceItsTaskIsDone() throws Exception {
    try (UsageSpool spool = new UsageSpool(dir, false)) {
      List<CompletableFuture<Void>> written = new ArrayList<>();
      List<Boolean> doneInsideTheTask = new ArrayList<>();
      List<Thread> completedOn = new ArrayList<>();
      loop.submit(() -> {
        for (String id : List.of("a", "b", "c")) {
          CompletableFuture<Void> w = spool.append(record(id));
          w.thenRun(() -> completedOn.add(Thread.currentThread()));
          written.add(w);
        }
        written.forEach(w -> doneInsideTheTask.add(w.isDone()));
      }).get(5, TimeUnit.SECONDS);

      CompletableFuture.allOf(written.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
      assertThat(doneInsideTheTask).containsOnly(false);
      Thread loopThread = loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS);
      assertThat(completedOn).hasSize(3).containsOnly(loopThread);
      assertThat(spooledIds(spool)).containsExactly("a", "b", "c");
    }
  }

  @Test
  void aRecordAppendedOffTheEventLoopsIsInTheFileWhenAppendReturns() throws Exception {
    try (UsageSpool spool = new UsageSpool(dir, false)) {
      CompletableFuture<Void> written = spool.append(record("plain"));
      assertThat(written).isCompleted();
      assertThat(spooledIds(spool)).containsExactly("plain");
    }
  }

  @Test
  void closingWritesWhatAnEventLoopHasNotWrittenYet() throws Exception {
    UsageSpool spool = new UsageSpool(dir, false);
    Path segment = spool.current();
    CompletableFuture<Void> written = loop.submit(() -> {
      CompletableFuture<Void> w = spool.append(record("last"));
      spool.close(); // before the loop gets to the group's own write
      return w;
    }).get(5, TimeUnit.SECONDS);

    assertThat(written).isCompleted();
    assertThat(Files.readAllLines(segment)).hasSize(1).first().asString().contains("\"last\"");
    assertThat(spool.append(record("late"))).isCompletedExceptionally();
  }

  @Test
  void withFsyncTheWriterThreadWritesTheRecordsOfAnEventLoop() throws Exception {
    try (UsageSpool spool = new UsageSpool(dir, true)) {
      AtomicBoolean inTask = new AtomicBoolean();
      // Written by another thread: it completes off the loop, or on it while the task still
      // runs (already written when the callback was attached); the loop itself would write only
      // after the task.
      CompletableFuture<Boolean> byAnotherThread = loop.submit(() -> {
        inTask.set(true);
        CompletableFuture<Boolean> done = spool.append(record("durable"))
            .thenApply(ignored -> inTask.get() || !loop.inEventLoop());
        inTask.set(false);
        return done;
      }).get(5, TimeUnit.SECONDS);

      assertThat(byAnotherThread.get(5, TimeUnit.SECONDS)).isTrue();
      assertThat(spooledIds(spool)).containsExactly("durable");
    }
  }
}
