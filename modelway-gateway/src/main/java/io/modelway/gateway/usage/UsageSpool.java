package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Queue;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The local, append-only log every usage record is written to before the client gets the end of
 * its answer: one JSON line per record, in segment files {@code usage-NNNNNNNN.jsonl} under
 * {@code dir}. A record is acknowledged once its line is in the file (in the kernel: it survives
 * the process being killed; with {@code fsync}, also the machine losing power).
 *
 * <p>Records are written in groups, so many requests share one system call. Without
 * {@code fsync}, a record appended on a Netty event loop joins that loop's group, which the loop
 * itself writes once it has handled the events at hand (a task queued on the same loop, so no
 * thread is woken): a buffered append to the page cache, as nginx writes its access log from its
 * workers, and the requests' answers go on from there on their own thread. Appends from any
 * other thread are written at once on that thread. With {@code fsync}, which waits for the
 * device, one writer thread takes the records that arrive while it writes and forces them
 * together. Each start opens a new segment, so a line cut short by a crash is only ever at the
 * end of an older segment, where {@link UsageLedger} ignores it. Thread-safe.
 */
public final class UsageSpool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UsageSpool.class);
  private static final JsonFactory JSON = new JsonFactory();
  private static final Pattern SEGMENT = Pattern.compile("usage-(\\d{8})\\.jsonl");
  /** A segment is closed and a new one begun past this size. */
  static final long SEGMENT_BYTES = 16L * 1024 * 1024;
  private static final int MAX_BATCH = 1024;

  private record Pending(byte[] line, CompletableFuture<Void> written) {}

  private final Path dir;
  private final boolean fsync;
  /** With fsync: lock-free, so that appending never parks an event loop; the writer is unparked. */
  private final Queue<Pending> queue = new ConcurrentLinkedQueue<>();
  private final @Nullable Thread writer;
  /** Without fsync: each event loop's group of records not yet written. */
  private final ConcurrentMap<EventExecutor, LoopGroup> groups = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private volatile Path current;
  /** The segment being written, its size and the switch to the next: guarded by {@code this}. */
  private FileChannel channel;
  private long size;

  /**
   * @param fsync whether each write is forced to the device before it is acknowledged
   */
  public UsageSpool(Path dir, boolean fsync) {
    this.dir = requireNonNull(dir, "dir");
    this.fsync = fsync;
    try {
      Files.createDirectories(dir);
      openNext();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the usage spool in " + dir, e);
    }
    if (fsync) {
      Thread thread = new Thread(this::run, "usage-spool");
      thread.setDaemon(true);
      thread.start();
      this.writer = thread;
    } else {
      this.writer = null;
    }
  }

  /**
   * Appends {@code record}.
   *
   * @return completes once the record is in the spool; fails when it could not be written, so
   *     the caller can refuse to hand out an answer that would go unaccounted
   */
  public CompletableFuture<Void> append(UsageRecord record) {
    CompletableFuture<Void> written = new CompletableFuture<>();
    if (closed) {
      written.completeExceptionally(new RejectedExecutionException("the usage spool is closed"));
      return written;
    }
    Pending pending = new Pending(encode(record), written);
    if (writer != null) {
      queue.add(pending);
      LockSupport.unpark(writer);
      return written;
    }
    EventExecutor loop = ThreadExecutorMap.currentExecutor();
    if (loop == null) {
      write(List.of(pending));
    } else {
      groups.computeIfAbsent(loop, LoopGroup::new).add(pending);
    }
    return written;
  }

  /**
   * The records one event loop appended since its last write. The loop adds to it and writes it
   * (a task it runs after the events at hand); {@link #close} may write it from another thread.
   */
  private final class LoopGroup implements Runnable {
    private final EventExecutor loop;
    private List<Pending> records = new ArrayList<>();

    LoopGroup(EventExecutor loop) {
      this.loop = loop;
    }

    void add(Pending pending) {
      boolean first;
      synchronized (this) {
        first = records.isEmpty();
        records.add(pending);
      }
      if (first) {
        try {
          loop.execute(this);
        } catch (RejectedExecutionException e) {
          run(); // the loop is shutting down: write on this thread
        }
      }
    }

    @Override
    public void run() {
      List<Pending> taken;
      synchronized (this) {
        if (records.isEmpty()) {
          return;
        }
        taken = records;
        records = new ArrayList<>();
      }
      write(taken);
    }
  }

  /** The segment being appended to. */
  Path current() {
    return current;
  }

  /** Every segment, oldest first. */
  List<Path> segments() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches())
          .sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void openNext() throws IOException {
    int next = 1;
    for (Path p : segments()) {
      Matcher m = SEGMENT.matcher(p.getFileName().toString());
      if (m.matches()) {
        next = Math.max(next, Integer.parseInt(m.group(1)) + 1);
      }
    }
    Path file = dir.resolve(String.format("usage-%08d.jsonl", next));
    FileChannel opened = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    FileChannel old = channel;
    channel = opened;
    size = 0;
    current = file;
    if (old != null) {
      old.close();
    }
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    while (true) {
      Pending next;
      while (batch.size() < MAX_BATCH && (next = queue.poll()) != null) {
        batch.add(next);
      }
      if (!batch.isEmpty()) {
        write(batch);
        batch.clear();
      } else if (closed) {
        return;
      } else {
        LockSupport.park(this);
      }
    }
  }

  /** Writes {@code batch} in one system call, then completes (or fails) each record's future. */
  private void write(List<Pending> batch) {
    int length = 0;
    for (Pending p : batch) {
      length += p.line().length;
    }
    ByteBuffer buffer = ByteBuffer.allocate(length);
    batch.forEach(p -> buffer.put(p.line()));
    buffer.flip();
    Throwable failure = null;
    synchronized (this) {
      try {
        if (!channel.isOpen()) {
          throw new IOException("the usage spool is closed");
        }
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        if (fsync) {
          channel.force(false);
        }
        size += length;
        if (size >= SEGMENT_BYTES) {
          openNext();
        }
      } catch (IOException e) {
        log.error("Cannot write the usage spool {}: {}", current, e.toString());
        failure = e;
      }
    }
    // Outside the lock: completing a record's future runs the rest of its answer.
    for (Pending p : batch) {
      if (failure == null) {
        p.written().complete(null);
      } else {
        p.written().completeExceptionally(failure);
      }
    }
  }

  /** Writes what is queued, then stops. */
  @Override
  public void close() {
    closed = true;
    try {
      if (writer != null) {
        LockSupport.unpark(writer);
        writer.join(5_000);
      }
      groups.values().forEach(LoopGroup::run);
      synchronized (this) {
        channel.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      log.warn("Closing the usage spool: {}", e.toString());
    }
  }

  /**
   * {@code r} as the spool's line: the time in microseconds since the epoch (as the stores keep
   * it; finer parts are dropped), a number that reads back without parsing a date.
   */
  static byte[] encode(UsageRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(384);
    try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
      write(g, r, true);
    }
    out.write('\n');
    return out.toByteArray();
  }

  /** {@code r} as one JSON object, the admin API's row: the time as an ISO-8601 string. */
  static void write(JsonGenerator g, UsageRecord r) {
    write(g, r, false);
  }

  /** {@code r} as one JSON object: the spool's line ({@code line}), or the admin API's row. */
  private static void write(JsonGenerator g, UsageRecord r, boolean line) {
    g.writeStartObject();
    g.writeStringProperty("id", r.id());
    if (line) {
      g.writeNumberProperty("at", LedgerStore.epochMicros(r.at()));
    } else {
      g.writeStringProperty("at", r.at().toString());
    }
    g.writeStringProperty("request_id", r.requestId());
    g.writeStringProperty("tenant", r.tenantId());
    r.project().ifPresent(p -> g.writeStringProperty("project", p));
    g.writeStringProperty("key_id", r.keyId());
    g.writeStringProperty("endpoint", r.endpoint());
    g.writeStringProperty("model", r.model());
    r.backend().ifPresent(b -> g.writeStringProperty("backend", b));
    r.servedModel().ifPresent(m -> g.writeStringProperty("served_model", m));
    g.writeNumberProperty("status", r.status());
    g.writeStringProperty("outcome", r.outcome());
    g.writeNumberProperty("prompt_tokens", r.promptTokens());
    g.writeNumberProperty("completion_tokens", r.completionTokens());
    g.writeNumberProperty("cached_tokens", r.cachedTokens());
    g.writeBooleanProperty("usage_reported", r.usageReported());
    g.writeNumberProperty("latency_ms", r.latencyMillis());
    if (r.ttftMillis().isPresent()) {
      g.writeNumberProperty("ttft_ms", r.ttftMillis().getAsLong());
    }
    g.writeBooleanProperty("cache_hit", r.cacheHit());
    r.traceId().ifPresent(t -> g.writeStringProperty("trace_id", t));
    if (r.costNanos().isPresent()) {
      g.writeNumberProperty("cost", Price.amount(r.costNanos().getAsLong()));
      g.writeStringProperty("currency", r.currency().orElseThrow());
    }
    g.writeEndObject();
  }

  /**
   * The record in {@code length} bytes of {@code bytes} from {@code offset}: one line as
   * {@link #encode} writes it (members in any order; unknown members skipped), or as versions
   * before it did, with the time as an ISO-8601 string (their spool is moved after an upgrade).
   *
   * @throws RuntimeException when the line is not such a record
   */
  static UsageRecord decode(byte[] bytes, int offset, int length) {
    String id = null;
    Instant at = null;
    String requestId = null;
    String tenant = null;
    String keyId = null;
    String endpoint = null;
    String model = null;
    String outcome = null;
    Optional<String> project = Optional.empty();
    Optional<String> backend = Optional.empty();
    Optional<String> servedModel = Optional.empty();
    Optional<String> traceId = Optional.empty();
    Optional<String> currency = Optional.empty();
    OptionalLong ttft = OptionalLong.empty();
    OptionalLong cost = OptionalLong.empty();
    int status = 0;
    long prompt = 0;
    long completion = 0;
    long cached = 0;
    long latency = 0;
    boolean reported = false;
    boolean cacheHit = false;
    try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), bytes, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = p.currentName();
        if (p.nextToken() == JsonToken.VALUE_NULL) {
          continue;
        }
        switch (name) {
          case "id" -> id = p.getString();
          case "at" -> at = p.currentToken() == JsonToken.VALUE_STRING
              ? Instant.parse(p.getString()) : LedgerStore.ofEpochMicros(p.getLongValue());
          case "request_id" -> requestId = p.getString();
          case "tenant" -> tenant = p.getString();
          case "project" -> project = Optional.of(p.getString());
          case "key_id" -> keyId = p.getString();
          case "endpoint" -> endpoint = p.getString();
          case "model" -> model = p.getString();
          case "backend" -> backend = Optional.of(p.getString());
          case "served_model" -> servedModel = Optional.of(p.getString());
          case "status" -> status = p.getIntValue();
          case "outcome" -> outcome = p.getString();
          case "prompt_tokens" -> prompt = p.getLongValue();
          case "completion_tokens" -> completion = p.getLongValue();
          case "cached_tokens" -> cached = p.getLongValue();
          case "usage_reported" -> reported = p.getBooleanValue();
          case "latency_ms" -> latency = p.getLongValue();
          case "ttft_ms" -> ttft = OptionalLong.of(p.getLongValue());
          case "cache_hit" -> cacheHit = p.getBooleanValue();
          case "trace_id" -> traceId = Optional.of(p.getString());
          case "cost" -> cost = OptionalLong.of(
              p.getDecimalValue().movePointRight(9).longValueExact());
          case "currency" -> currency = Optional.of(p.getString());
          default -> p.skipChildren();
        }
      }
    }
    return new UsageRecord(id, at, requestId, tenant, project, keyId, endpoint, model, backend,
        status, outcome, prompt, completion, cached, reported, latency, ttft, cacheHit, traceId,
        cost, currency, servedModel);
  }
}
