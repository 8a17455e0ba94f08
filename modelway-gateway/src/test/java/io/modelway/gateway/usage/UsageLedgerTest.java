package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.modelway.gateway.Stores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Spool to store, on the embedded ledger (SQLite) and on the machine's PostgreSQL: nothing lost,
 * nothing twice.
 */
class UsageLedgerTest {
  @TempDir Path dir;
  private final Deque<AutoCloseable> closing = new ArrayDeque<>();

  static Stream<String> stores() {
    return Stream.of("sqlite", "postgresql");
  }

  /** A ledger store of {@code kind}, closed (a PostgreSQL database dropped) after the test. */
  private LedgerStore open(String kind) {
    LedgerStore store;
    if (kind.equals("sqlite")) {
      store = LedgerStore.sqlite(dir.resolve("db").resolve("usage.sqlite"));
    } else {
      Stores.Store postgres = Stores.postgres();
      closing.push(postgres);
      store = LedgerStore.shared(postgres.dataSource());
    }
    closing.push(store);
    return store;
  }

  @AfterEach
  void close() throws Exception {
    while (!closing.isEmpty()) {
      closing.pop().close();
    }
  }

  private static UsageRecord record(String id, String tenant, long completion) {
    return new UsageRecord(id, Instant.parse("2026-11-22T10:00:00Z"), "req-" + id, tenant,
        Optional.empty(), "key_1", "chat/completions", "chat", Optional.of("sim"), 200,
        "completed", 10, completion, 0, true, 42, OptionalLong.of(7), false, Optional.empty(),
        OptionalLong.of(1_500_000_000L + completion), Optional.of("USD"));
  }

  private static UsageLedger.Filter all(Optional<String> tenant) {
    return new UsageLedger.Filter(tenant, Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), 1000);
  }

  @ParameterizedTest
  @MethodSource("stores")
  void movesEverySpooledRecordOnceEvenWhenReplayed(String kind) throws Exception {
    Path spoolDir = dir.resolve("spool");
    LedgerStore store = open(kind);
    try (UsageSpool spool = new UsageSpool(spoolDir, false)) {
      for (int i = 0; i < 1200; i++) {
        spool.append(record("r" + i, i % 2 == 0 ? "acme" : "beta", 5)).join();
      }
      UsageLedger ledger = new UsageLedger(spool, store);
      ledger.drain();
      assertThat(ledger.totals(all(Optional.empty())).requests()).isEqualTo(1200);
      // A crash before the offset was saved: the same lines are read again.
      try (Stream<Path> offsets = Files.list(spoolDir)) {
        offsets.filter(p -> p.toString().endsWith(".offset")).forEach(p -> p.toFile().delete());
      }
      ledger.drain();
      UsageLedger.Totals acme = ledger.totals(all(Optional.of("acme")));
      assertThat(acme.requests()).isEqualTo(600);
      assertThat(acme.completionTokens()).isEqualTo(3000);
      assertThat(ledger.totals(all(Optional.empty())).requests()).isEqualTo(1200);
      assertThat(ledger.query(all(Optional.of("beta"))).get(0).ttftMillis()).hasValue(7);
    }
    // A restart: a new segment; the old one, all moved, is deleted at the next drain.
    try (UsageSpool again = new UsageSpool(spoolDir, false)) {
      again.append(record("after-restart", "acme", 1)).join();
      UsageLedger ledger = new UsageLedger(again, store);
      ledger.drain();
      assertThat(again.segments()).containsExactly(again.current());
      assertThat(ledger.totals(all(Optional.empty())).requests()).isEqualTo(1201);
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void ignoresALineCutShortByACrash(String kind) throws Exception {
    Path spoolDir = dir.resolve("spool");
    Path cut;
    try (UsageSpool spool = new UsageSpool(spoolDir, false)) {
      spool.append(record("whole", "acme", 1)).join();
      cut = spool.current();
    }
    Files.write(cut, "{\"id\":\"half".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
    LedgerStore store = open(kind);
    try (UsageSpool spool = new UsageSpool(spoolDir, false)) {
      UsageLedger ledger = new UsageLedger(spool, store);
      ledger.drain();
      assertThat(ledger.query(all(Optional.empty()))).extracting(UsageRecord::id)
          .containsExactly("whole");
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void keepsRecordsInTheSpoolWhileTheStoreIsDown(String kind) throws Exception {
    LedgerStore store = open(kind);
    try (UsageSpool spool = new UsageSpool(dir.resolve("spool"), false)) {
      spool.append(record("a", "acme", 1)).join();
      HikariDataSource down = new HikariDataSource();
      down.setJdbcUrl("jdbc:postgresql://127.0.0.1:9/nowhere?user=postgres&connectTimeout=1");
      down.setConnectionTimeout(1000);
      down.setInitializationFailTimeout(-1);
      UsageLedger unreachable = new UsageLedger(spool, LedgerStore.shared(down));
      try {
        unreachable.drain();
      } catch (RuntimeException expected) {
        // the store is down: nothing moved, nothing lost
      }
      down.close();
      UsageLedger back = new UsageLedger(spool, store);
      back.drain();
      assertThat(back.totals(all(Optional.empty())).requests()).isEqualTo(1);
    }
  }

  @Test
  void anEmbeddedInstallMovesItsLedgerFromH2ToItsOwnFileOnce() throws Exception {
    try (Stores.Store h2 = Stores.h2(dir); UsageSpool spool = new UsageSpool(dir.resolve("spool"), false)) {
      UsageLedger old = new UsageLedger(spool, LedgerStore.shared(h2.dataSource()));
      for (int i = 0; i < 1203; i++) { // more than one batch
        spool.append(record("old" + i, "acme", 2)).join();
      }
      old.drain();
      UsageLedger ledger = new UsageLedger(spool, open("sqlite"));
      assertThat(ledger.adopt(LedgerStore.shared(h2.dataSource()))).isEqualTo(1203);
      UsageLedger.Totals moved = ledger.totals(all(Optional.empty()));
      assertThat(moved.requests()).isEqualTo(1203);
      assertThat(moved.completionTokens()).isEqualTo(2406);
      assertThat(moved.costNanos()).containsEntry("USD", 1203 * 1_500_000_002L);
      assertThat(ledger.query(all(Optional.empty())).get(0).at())
          .isEqualTo(Instant.parse("2026-11-22T10:00:00Z"));
      assertThat(old.totals(all(Optional.empty())).requests()).isZero();
      assertThat(ledger.adopt(LedgerStore.shared(h2.dataSource()))).isZero();
    }
  }
}
