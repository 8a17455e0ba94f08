package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Moves spooled usage records into the store and answers queries on them.
 *
 * <p>A background thread reads each spool segment from the offset it last committed, inserts
 * the complete lines in batches (an insert of an id already there does nothing, so a replay
 * after a crash adds no duplicates), then saves the new offset; a segment that is no longer
 * being written and is all in the store is deleted. When the store is unreachable the records
 * wait in the spool and the thread retries with backoff (fails open for serving, closed for
 * accounting: nothing is dropped). Thread-safe.
 */
public final class UsageLedger implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UsageLedger.class);
  private static final int BATCH = 500;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private final UsageSpool spool;
  private final LedgerStore store;
  private final JdbcTemplate batches;
  /** One transaction a batch: one commit (one write of the store's file) per batch, not per row. */
  private final TransactionTemplate transactions;
  private final JdbcClient jdbc;
  private final ScheduledExecutorService thread;
  private final AtomicLong pendingBytes = new AtomicLong();
  /** Segments of earlier processes already moved once from their start by this one. */
  private final java.util.Set<Path> replayed = new java.util.HashSet<>();
  private volatile Optional<String> lastError = Optional.empty();
  private Duration backoff = Duration.ZERO;
  private long retryAt = System.nanoTime();

  public UsageLedger(UsageSpool spool, LedgerStore store) {
    this.spool = requireNonNull(spool, "spool");
    this.store = requireNonNull(store, "store");
    DataSource dataSource = store.dataSource();
    this.batches = new JdbcTemplate(dataSource);
    this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    this.jdbc = JdbcClient.create(dataSource);
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "usage-ledger");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts moving records every {@code interval}. */
  public void start(Duration interval) {
    thread.scheduleWithFixedDelay(this::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void tick() {
    if (System.nanoTime() - retryAt < 0) {
      return; // waiting out a store outage
    }
    try {
      drain();
      if (lastError.isPresent()) {
        log.info("The usage ledger reaches the store again; spooled records are moved");
      }
      lastError = Optional.empty();
      backoff = Duration.ZERO;
    } catch (RuntimeException e) {
      if (lastError.isEmpty()) {
        log.warn("Cannot move usage records to the store ({}); they stay in the spool", e.toString());
      }
      lastError = Optional.of(e.toString());
      backoff = backoff.isZero() ? Duration.ofSeconds(1)
          : backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
      retryAt = System.nanoTime() + backoff.toNanos();
    }
  }

  /** Moves every complete spooled record into the store now; blocking. */
  public void drain() {
    long pending = 0;
    Path current = spool.current();
    for (Path segment : spool.segments()) {
      // A segment left by an earlier process is moved again from its start: its saved offset
      // may be ahead of what the store kept if that process died right after a commit. The
      // insert skips ids already there, so this only costs a read.
      long committed = segment.equals(current) || replayed.contains(segment) ? offset(segment) : 0;
      long size = size(segment);
      if (committed < size) {
        committed = move(segment, committed);
      }
      if (!segment.equals(current)) {
        replayed.add(segment);
      }
      pending += size(segment) - committed;
      if (!segment.equals(current) && committed >= size(segment)) {
        delete(segment);
      }
    }
    pendingBytes.set(pending);
  }

  /**
   * Inserts the complete lines of {@code segment} after {@code from}; returns the new offset,
   * saved once they are all in the store (not after each batch: writing and renaming the offset
   * file cost as much as a tenth of the move). A crash in between moves them again, which the
   * insert makes harmless.
   */
  private long move(Path segment, long from) {
    byte[] bytes;
    try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.READ)) {
      long size = channel.size();
      ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 8, size - from));
      while (buffer.hasRemaining() && channel.read(buffer, from + buffer.position()) > 0) {
        // read on
      }
      bytes = java.util.Arrays.copyOf(buffer.array(), buffer.position());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int end = lastNewline(bytes);
    if (end < 0) {
      return from;
    }
    List<UsageRecord> batch = new ArrayList<>(BATCH);
    int lineStart = 0;
    for (int i = 0; i <= end; i++) {
      if (bytes[i] == '\n') {
        if (i > lineStart) {
          try {
            batch.add(UsageSpool.decode(bytes, lineStart, i - lineStart));
          } catch (RuntimeException e) {
            log.error("Skipping an unreadable usage line in {} at byte {}: {}", segment,
                from + lineStart, e.toString());
          }
        }
        lineStart = i + 1;
        if (batch.size() >= BATCH) {
          insert(batch);
          batch.clear();
        }
      }
    }
    if (!batch.isEmpty()) {
      insert(batch);
    }
    long offset = from + end + 1;
    saveOffset(segment, offset);
    return offset;
  }

  private static int lastNewline(byte[] bytes) {
    for (int i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Inserts {@code batch} in one transaction, skipping ids already stored. */
  void insert(List<UsageRecord> batch) {
    transactions.executeWithoutResult(status -> insertRows(batch));
  }

  /**
   * {@code ON CONFLICT DO NOTHING}, which SQLite (3.24 and later), PostgreSQL and H2 (in its
   * PostgreSQL mode: a {@code --database-url} naming an H2 file) all run, without a conflict
   * target because H2 refuses one: the id is the table's only unique key, so only a stored id
   * is skipped. Cheaper than {@code INSERT ... SELECT ... WHERE NOT EXISTS}, which looks the id up
   * once more.
   */
  private void insertRows(List<UsageRecord> batch) {
    batches.batchUpdate("""
            INSERT INTO usage_records (id, at, request_id, tenant_id, project, key_id, endpoint,
                model, backend, status, outcome, prompt_tokens, completion_tokens, cached_tokens,
                usage_reported, latency_ms, ttft_ms, cache_hit, trace_id, cost_nanos, currency,
                served_model)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING""",
        batch, batch.size(), (ps, r) -> {
          ps.setString(1, r.id());
          ps.setObject(2, store.time(r.at()));
          ps.setString(3, r.requestId());
          ps.setString(4, r.tenantId());
          ps.setString(5, r.project().orElse(null));
          ps.setString(6, r.keyId());
          ps.setString(7, r.endpoint());
          ps.setString(8, r.model());
          ps.setString(9, r.backend().orElse(null));
          ps.setInt(10, r.status());
          ps.setString(11, r.outcome());
          ps.setLong(12, r.promptTokens());
          ps.setLong(13, r.completionTokens());
          ps.setLong(14, r.cachedTokens());
          ps.setBoolean(15, r.usageReported());
          ps.setLong(16, r.latencyMillis());
          if (r.ttftMillis().isPresent()) {
            ps.setLong(17, r.ttftMillis().getAsLong());
          } else {
            ps.setNull(17, java.sql.Types.BIGINT);
          }
          ps.setBoolean(18, r.cacheHit());
          ps.setString(19, r.traceId().orElse(null));
          if (r.costNanos().isPresent()) {
            ps.setLong(20, r.costNanos().getAsLong());
          } else {
            ps.setNull(20, java.sql.Types.BIGINT);
          }
          ps.setString(21, r.currency().orElse(null));
          ps.setString(22, r.servedModel().orElse(null));
        });
  }

  private static Path offsetFile(Path segment) {
    return segment.resolveSibling(segment.getFileName().toString().replace(".jsonl", ".offset"));
  }

  private static long offset(Path segment) {
    Path file = offsetFile(segment);
    try {
      return Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : 0;
    } catch (IOException | NumberFormatException e) {
      return 0; // replaying from the start only re-inserts ids already there
    }
  }

  private static void saveOffset(Path segment, long offset) {
    Path file = offsetFile(segment);
    Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.writeString(temp, Long.toString(offset));
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long size(Path segment) {
    try {
      return Files.size(segment);
    } catch (IOException e) {
      return 0;
    }
  }

  private static void delete(Path segment) {
    try {
      Files.deleteIfExists(segment);
      Files.deleteIfExists(offsetFile(segment));
    } catch (IOException e) {
      log.warn("Cannot delete the moved usage segment {}: {}", segment, e.toString());
    }
  }

  /** Bytes of spooled records not yet in the store, as of the last move. */
  public long pendingBytes() {
    return pendingBytes.get();
  }

  /** Why the last move failed, while the store is unreachable. */
  public Optional<String> lastError() {
    return lastError;
  }

  /**
   * Which records a query selects; each part is optional.
   *
   * @param from inclusive
   * @param to exclusive
   */
  public record Filter(Optional<String> tenant, Optional<String> keyId, Optional<String> model,
      Optional<String> requestId, Optional<Instant> from, Optional<Instant> to, int limit) {}

  /**
   * Sums over the records a filter selects.
   *
   * @param costNanos the cost by currency, in billionths
   */
  public record Totals(long requests, long promptTokens, long completionTokens, long cachedTokens,
      java.util.Map<String, Long> costNanos) {}

  /**
   * What a tenant (or one key, when {@code key} is true) used from {@code since}: tokens, and
   * the cost in billionths of {@code currency}. Blocking.
   */
  public long[] used(boolean key, String holder, Instant since, String currency) {
    return jdbc.sql("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0),"
            + " COALESCE(SUM(CASE WHEN currency = ? THEN cost_nanos ELSE 0 END), 0)"
            + " FROM usage_records WHERE " + (key ? "key_id" : "tenant_id") + " = ? AND at >= ?")
        .params(currency, holder, store.time(since))
        .query((rs, row) -> new long[] {rs.getLong(1), rs.getLong(2)})
        .single();
  }

  /** The newest records the filter selects, newest first, at most {@code filter.limit()}. */
  public List<UsageRecord> query(Filter filter) {
    Where where = where(filter);
    return jdbc.sql("SELECT * FROM usage_records" + where.sql + " ORDER BY at DESC, id LIMIT ?")
        .params(where.withLimit(filter.limit()))
        .query((rs, row) -> record(store, rs)).list();
  }

  /** Sums over every record the filter selects (no limit). */
  public Totals totals(Filter filter) {
    Where where = where(filter);
    return jdbc.sql("SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            + " COALESCE(SUM(cached_tokens), 0) FROM usage_records" + where.sql)
        .params(where.params)
        .query((rs, row) -> new Totals(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
            costs(where)))
        .single();
  }

  private java.util.Map<String, Long> costs(Where where) {
    java.util.Map<String, Long> costs = new java.util.TreeMap<>();
    jdbc.sql("SELECT currency, SUM(cost_nanos) FROM usage_records" + where.sql
            + (where.sql.isEmpty() ? " WHERE" : " AND") + " currency IS NOT NULL GROUP BY currency")
        .params(where.params)
        .query(rs -> {
          costs.put(rs.getString(1).trim(), rs.getLong(2));
        });
    return costs;
  }

  private record Where(String sql, List<Object> params) {
    List<Object> withLimit(int limit) {
      List<Object> all = new ArrayList<>(params);
      all.add(limit);
      return all;
    }
  }

  private Where where(Filter f) {
    StringBuilder sql = new StringBuilder();
    List<Object> params = new ArrayList<>();
    f.tenant().ifPresent(v -> and(sql, params, "tenant_id = ?", v));
    f.keyId().ifPresent(v -> and(sql, params, "key_id = ?", v));
    f.model().ifPresent(v -> and(sql, params, "model = ?", v));
    f.requestId().ifPresent(v -> and(sql, params, "request_id = ?", v));
    f.from().ifPresent(v -> and(sql, params, "at >= ?", store.time(v)));
    f.to().ifPresent(v -> and(sql, params, "at < ?", store.time(v)));
    return new Where(sql.toString(), params);
  }

  private static void and(StringBuilder sql, List<Object> params, String condition, Object value) {
    sql.append(sql.length() == 0 ? " WHERE " : " AND ").append(condition);
    params.add(value);
  }

  private static UsageRecord record(LedgerStore store, ResultSet rs) throws SQLException {
    long ttft = rs.getLong("ttft_ms");
    boolean noTtft = rs.wasNull();
    return new UsageRecord(rs.getString("id"),
        store.time(rs, "at"), rs.getString("request_id"),
        rs.getString("tenant_id"), Optional.ofNullable(rs.getString("project")),
        rs.getString("key_id"), rs.getString("endpoint"), rs.getString("model"),
        Optional.ofNullable(rs.getString("backend")), rs.getInt("status"),
        rs.getString("outcome"), rs.getLong("prompt_tokens"), rs.getLong("completion_tokens"),
        rs.getLong("cached_tokens"), rs.getBoolean("usage_reported"), rs.getLong("latency_ms"),
        noTtft ? OptionalLong.empty() : OptionalLong.of(ttft), rs.getBoolean("cache_hit"),
        Optional.ofNullable(rs.getString("trace_id")), costNanos(rs),
        Optional.ofNullable(rs.getString("currency")).map(String::trim),
        Optional.ofNullable(rs.getString("served_model")));
  }

  /**
   * Moves every row of the ledger in {@code old} into this ledger's store, then deletes them
   * from {@code old}: once, when an embedded install's ledger moves from H2 to its own file.
   * Idempotent (ids already here are skipped), so a move cut short is finished by the next.
   *
   * @return the rows moved
   */
  public long adopt(LedgerStore old) {
    JdbcClient from = JdbcClient.create(old.dataSource());
    long moved = 0;
    String after = "";
    while (true) {
      List<UsageRecord> rows = from.sql("SELECT * FROM usage_records WHERE id > ? ORDER BY id LIMIT ?")
          .params(after, BATCH).query((rs, row) -> record(old, rs)).list();
      if (rows.isEmpty()) {
        break;
      }
      insert(rows);
      moved += rows.size();
      after = rows.get(rows.size() - 1).id();
    }
    if (moved > 0) {
      from.sql("DELETE FROM usage_records").update();
    }
    return moved;
  }

  private static OptionalLong costNanos(ResultSet rs) throws SQLException {
    long cost = rs.getLong("cost_nanos");
    return rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(cost);
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
