package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * Where the usage ledger's rows live: the shared store (PostgreSQL in microservices mode, or any
 * store given by URL), or, in embedded mode, a SQLite file of its own beside the H2 store. The
 * two differ only in how a time is kept: {@code TIMESTAMP WITH TIME ZONE} in the shared store,
 * microseconds since the epoch in SQLite, which has no time type.
 */
public final class LedgerStore implements AutoCloseable {
  private final DataSource dataSource;
  private final boolean epochMicros;
  private final AutoCloseable owned;

  private LedgerStore(DataSource dataSource, boolean epochMicros, AutoCloseable owned) {
    this.dataSource = requireNonNull(dataSource, "dataSource");
    this.epochMicros = epochMicros;
    this.owned = owned;
  }

  /** The ledger in {@code dataSource}, migrated with the rest of its schema; not closed here. */
  public static LedgerStore shared(DataSource dataSource) {
    return new LedgerStore(dataSource, false, () -> {});
  }

  /**
   * The ledger in the SQLite file {@code file}, created and migrated when needed. WAL journal:
   * a commit survives the process being killed once it returns, and readers never wait for the
   * writer (the ledger has one writer, its mover).
   */
  public static LedgerStore sqlite(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the directory of " + file, e);
    }
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(10_000);
    SQLiteDataSource sqlite = new SQLiteDataSource(config);
    sqlite.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
    HikariDataSource pool = new HikariDataSource();
    pool.setDataSource(sqlite);
    pool.setPoolName("ledger");
    pool.setMaximumPoolSize(4);
    try {
      Flyway.configure().dataSource(pool).locations("classpath:db/ledger-sqlite").load().migrate();
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
    return new LedgerStore(pool, true, pool);
  }

  DataSource dataSource() {
    return dataSource;
  }

  /** {@code at} as this store's time parameter. */
  Object time(Instant at) {
    return epochMicros ? epochMicros(at) : at.atOffset(ZoneOffset.UTC);
  }

  /** The time in column {@code column} of the current row. */
  Instant time(ResultSet rs, String column) throws SQLException {
    return epochMicros ? ofEpochMicros(rs.getLong(column))
        : rs.getObject(column, OffsetDateTime.class).toInstant();
  }

  /**
   * {@code at} in whole microseconds since the epoch, rounded down (finer parts dropped): how
   * SQLite rows and spool lines keep a time.
   */
  static long epochMicros(Instant at) {
    return Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000L), at.getNano() / 1000);
  }

  /** The instant {@code micros} microseconds after the epoch. */
  static Instant ofEpochMicros(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
        Math.floorMod(micros, 1_000_000L) * 1000);
  }

  @Override
  public void close() throws Exception {
    owned.close();
  }
}
