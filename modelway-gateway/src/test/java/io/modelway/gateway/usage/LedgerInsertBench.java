package io.modelway.gateway.usage;

import com.sun.management.OperatingSystemMXBean;
import com.zaxxer.hikari.HikariDataSource;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.api.OpenAiHandler;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;

/**
 * What one usage row costs the ledger's embedded store, with the gateway's time-ordered ids.
 * Variants: {@code sqlite} (the embedded ledger's own file) and {@code h2} (the H2 store with the
 * gateway's URL, where the ledger lived before), both through {@link UsageLedger#insert} as its
 * mover calls it (batches of 500 in one transaction, ids already there skipped); {@code spool}:
 * the mover's whole work on rows spooled beforehand ({@link UsageLedger#drain}: read, decode,
 * insert into SQLite, save offsets); {@code decode}: only the decoding of those spooled lines
 * (after one pass to warm up).
 * Prints rows/s and process CPU per row. Run by bench/ledger-insert.sh;
 * {@code main(variant, rows)}.
 */
public final class LedgerInsertBench {
  private LedgerInsertBench() {}

  public static void main(String[] args) throws Exception {
    String variant = args[0];
    int rows = Integer.parseInt(args[1]);
    Path dir = Files.createTempDirectory("ledger-bench");
    LedgerStore store;
    if (variant.equals("sqlite") || variant.equals("spool") || variant.equals("decode")) {
      store = LedgerStore.sqlite(dir.resolve("usage.sqlite"));
    } else if (variant.equals("h2")) {
      String url = GatewayOptions.of(dir).jdbcUrl();
      Flyway.configure().dataSource(url, "sa", "").load().migrate();
      HikariDataSource pool = new HikariDataSource(); // as the gateway's store
      pool.setJdbcUrl(url);
      pool.setUsername("sa");
      pool.setMaximumPoolSize(4);
      store = LedgerStore.shared(pool);
    } else {
      throw new IllegalArgumentException(
          "variant: " + variant + " (expected: sqlite, h2, spool or decode)");
    }
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (store; UsageSpool spool = new UsageSpool(dir.resolve("spool"), false)) {
      UsageLedger ledger = new UsageLedger(spool, store);
      List<UsageRecord> batch = new ArrayList<>(500);
      List<byte[]> lines = new ArrayList<>();
      if (variant.equals("spool") || variant.equals("decode")) { // spooled before the clock runs
        List<CompletableFuture<Void>> written = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
          UsageRecord record = record(Instant.now());
          written.add(spool.append(record));
          lines.add(UsageSpool.encode(record));
        }
        CompletableFuture.allOf(written.toArray(CompletableFuture[]::new)).join();
      }
      if (variant.equals("decode")) {
        decodeAll(lines); // a pass to warm up: decoding alone is short
      }
      long started = System.nanoTime();
      long cpu = os.getProcessCpuTime();
      if (variant.equals("spool")) {
        ledger.drain();
      } else if (variant.equals("decode")) {
        decodeAll(lines);
      } else {
        for (int i = 0; i < rows; i++) {
          batch.add(record(Instant.now()));
          if (batch.size() == 500 || i == rows - 1) {
            ledger.insert(batch);
            batch.clear();
          }
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      double cpuSeconds = (os.getProcessCpuTime() - cpu) / 1e9;
      if (variant.equals("spool")) {
        long stored = ledger.totals(new UsageLedger.Filter(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 1)).requests();
        if (stored != rows) {
          throw new IllegalStateException(stored + " rows stored of " + rows + " spooled");
        }
      }
      System.out.printf("%s: %d rows, %.0f rows/s, %.2f us CPU a row%n", variant, rows,
          rows / seconds, cpuSeconds * 1e6 / rows);
    } finally {
      try (Stream<Path> files = Files.walk(dir)) { // the store and spool: up to ~100 MB a run
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void decodeAll(List<byte[]> lines) {
    long sum = 0;
    for (byte[] line : lines) {
      sum += UsageSpool.decode(line, 0, line.length - 1).at().getNano();
    }
    if (sum == 42) {
      System.out.println(); // keeps the decoding from being optimized away
    }
  }

  private static UsageRecord record(Instant at) {
    return new UsageRecord(Accounting.newId(at), at,
        OpenAiHandler.newRequestId(at.toEpochMilli()), "admin", Optional.empty(), "admin-env",
        "chat/completions", "chat", Optional.of("sim"), 200, "completed", 30, 16, 0, true, 3,
        OptionalLong.of(2), false, Optional.empty(), OptionalLong.empty(), Optional.empty());
  }
}
