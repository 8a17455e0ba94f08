package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closed-loop load: a fixed set of client threads, each generating its requests one after the
 * other, all released at once. The same threads serve every round and every mode. Not
 * thread-safe: one round at a time.
 */
final class Load implements AutoCloseable {
  private final int clients;
  private final ExecutorService threads;
  private final CpuClock driverCpu;
  private final CpuClock serverCpu;
  private final CpuClock machineCpu;

  Load(int clients, CpuClock driverCpu, CpuClock serverCpu, CpuClock machineCpu) {
    if (clients < 1) {
      throw new IllegalArgumentException("clients: " + clients + " (expected: >= 1)");
    }
    this.clients = clients;
    this.driverCpu = requireNonNull(driverCpu, "driverCpu");
    this.serverCpu = requireNonNull(serverCpu, "serverCpu");
    this.machineCpu = requireNonNull(machineCpu, "machineCpu");
    AtomicInteger number = new AtomicInteger();
    this.threads = Executors.newFixedThreadPool(clients, r -> {
      Thread t = new Thread(r, "client-" + number.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Runs one round: every client generates {@code requestsPerClient} completions with
   * {@code generator}, each of which must have exactly {@code expectedTokens} tokens.
   *
   * @throws IllegalStateException when a completion fails or has another number of tokens; the
   *     other clients are interrupted
   */
  RoundResult round(Mode mode, int round, Generator generator, int requestsPerClient,
      int expectedTokens) throws InterruptedException {
    requireNonNull(generator, "generator");
    CountDownLatch ready = new CountDownLatch(clients);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Long>> done = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int client = c;
      done.add(threads.submit(() -> {
        ready.countDown();
        go.await();
        long tokens = 0;
        for (int i = 0; i < requestsPerClient; i++) {
          Completion completion = generator.generate(client, false);
          if (completion.tokens() != expectedTokens) {
            throw new IllegalStateException(mode + ": client " + client + " got "
                + completion.tokens() + " completion tokens, not " + expectedTokens);
          }
          tokens += completion.tokens();
        }
        return tokens;
      }));
    }
    ready.await();
    OptionalLong driver0 = driverCpu.nanos();
    OptionalLong server0 = serverCpu.nanos();
    OptionalLong machine0 = machineCpu.nanos();
    long started = System.nanoTime();
    go.countDown();
    long tokens = 0;
    try {
      for (Future<Long> f : done) {
        tokens += f.get();
      }
    } catch (ExecutionException e) {
      done.forEach(f -> f.cancel(true));
      throw new IllegalStateException(mode + " round " + round + " failed: " + e.getCause(), e.getCause());
    }
    long wall = System.nanoTime() - started;
    return new RoundResult(mode, round, clients * requestsPerClient, tokens, wall,
        difference(driver0, driverCpu.nanos()), difference(server0, serverCpu.nanos()),
        difference(machine0, machineCpu.nanos()));
  }

  private static OptionalLong difference(OptionalLong before, OptionalLong after) {
    return before.isPresent() && after.isPresent()
        ? OptionalLong.of(after.getAsLong() - before.getAsLong()) : OptionalLong.empty();
  }

  @Override
  public void close() {
    threads.shutdownNow();
  }
}
