package io.modelway.gateway.usage;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.ThreadLocalRandom;
import org.flywaydb.core.Flyway;

/**
 * What one usage row costs the embedded store (H2, the ledger's schema from the Flyway
 * migrations), inserted as {@code UsageLedger} does: batches of 500 in one transaction, an insert
 * that skips ids already there. Variants: {@code random} request ids (as clients' UUIDs are),
 * {@code ordered} ones (as the gateway makes them: the time first), and {@code no-index}
 * (without the request-id index). Prints rows/s and process CPU per row. Run by
 * bench/ledger-insert.sh; {@code main(variant, rows)}.
 */
public final class LedgerInsertBench {
  private LedgerInsertBench() {}

  public static void main(String[] args) throws Exception {
    String variant = args[0];
    int rows = Integer.parseInt(args[1]);
    Path dir = Files.createTempDirectory("ledger-bench");
    String url = "jdbc:h2:file:" + dir.resolve("modelway");
    Flyway.configure().dataSource(url, "sa", "").locations("classpath:db/migration").load()
        .migrate();
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (Connection c = DriverManager.getConnection(url, "sa", "")) {
      if (variant.equals("no-index")) {
        c.createStatement().execute("DROP INDEX usage_records_request");
      }
      c.setAutoCommit(false);
      PreparedStatement ps = c.prepareStatement("""
          INSERT INTO usage_records (id, at, request_id, tenant_id, project, key_id, endpoint,
              model, backend, status, outcome, prompt_tokens, completion_tokens, cached_tokens,
              usage_reported, latency_ms, ttft_ms, cache_hit, trace_id, cost_nanos, currency)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
          WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE id = ?)""");
      ThreadLocalRandom random = ThreadLocalRandom.current();
      long started = System.nanoTime();
      long cpu = os.getProcessCpuTime();
      for (int i = 0; i < rows; i++) {
        Instant at = Instant.now();
        String id = Accounting.newId(at);
        String requestId = variant.equals("random")
            ? "req_" + Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong())
            : io.modelway.gateway.api.OpenAiHandler.newRequestId(at.toEpochMilli());
        ps.setString(1, id);
        ps.setObject(2, at.atOffset(ZoneOffset.UTC));
        ps.setString(3, requestId);
        ps.setString(4, "admin");
        ps.setString(5, null);
        ps.setString(6, "admin-env");
        ps.setString(7, "chat/completions");
        ps.setString(8, "chat");
        ps.setString(9, "sim");
        ps.setInt(10, 200);
        ps.setString(11, "completed");
        ps.setLong(12, 30);
        ps.setLong(13, 16);
        ps.setLong(14, 0);
        ps.setBoolean(15, true);
        ps.setLong(16, 3);
        ps.setLong(17, 2);
        ps.setBoolean(18, false);
        ps.setString(19, null);
        ps.setNull(20, Types.BIGINT);
        ps.setString(21, null);
        ps.setString(22, id);
        ps.addBatch();
        if ((i + 1) % 500 == 0) {
          ps.executeBatch();
          c.commit();
        }
      }
      ps.executeBatch();
      c.commit();
      double seconds = (System.nanoTime() - started) / 1e9;
      double cpuSeconds = (os.getProcessCpuTime() - cpu) / 1e9;
      System.out.printf("%s: %d rows, %.0f rows/s, %.1f us CPU a row%n", variant, rows,
          rows / seconds, cpuSeconds * 1e6 / rows);
    }
  }
}
