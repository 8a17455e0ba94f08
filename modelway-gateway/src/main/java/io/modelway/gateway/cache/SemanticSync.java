package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.modelway.gateway.RedisClients;
import io.modelway.gateway.cache.semantic.VectorIndex;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every replica's semantic index in step through one Redis stream, {@code
 * modelway:cache:semantic}: each question a replica adds and each purge made through it is
 * appended ({@code XADD}, capped at about {@link #STREAM_LENGTH} events); each replica reads the
 * stream from its start when it starts (rebuilding its index from what is there) and then as
 * events arrive ({@code XREAD BLOCK}), applying the others' events. A question added on one
 * replica is found on the others as soon as they read it: well within a second.
 *
 * <p>Fails open: while Redis is away, events are not sent (that replica's questions stay its
 * own) and the reader retries every second. The answers themselves are in the shared {@link
 * ResponseCache}, so an index that missed an event costs hits, never a wrong answer. One reader
 * thread, blocking on its own connection; appends are asynchronous.
 */
final class SemanticSync implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SemanticSync.class);
  static final String STREAM = "modelway:cache:semantic";
  static final long STREAM_LENGTH = 2L * SemanticCache.MAX_ENTRIES;
  private static final Duration BLOCK = Duration.ofSeconds(1);

  private final RedisClient client;
  private final SemanticCache semantic;
  private final String origin = UUID.randomUUID().toString();
  private final Thread reader;
  private final AtomicLong applied = new AtomicLong();
  private volatile @Nullable StatefulRedisConnection<String, String> writer;
  private volatile boolean closed;

  private SemanticSync(RedisClient client, SemanticCache semantic) {
    this.client = client;
    this.semantic = semantic;
    semantic.onAdded(this::publish);
    semantic.onPurged(this::publish);
    reader = new Thread(this::read, "semantic-cache-sync");
    reader.setDaemon(true);
  }

  /** Starts keeping {@code semantic} in step through the Redis at {@code url}. */
  static SemanticSync start(String url, SemanticCache semantic) {
    SemanticSync sync = new SemanticSync(RedisClients.create(url), requireNonNull(semantic, "semantic"));
    sync.reader.start();
    return sync;
  }

  /** Events from other replicas applied here. */
  long applied() {
    return applied.get();
  }

  /** The appending connection, which the reader thread opens; none while Redis is away. */
  private @Nullable RedisAsyncCommands<String, String> writer() {
    StatefulRedisConnection<String, String> open = writer;
    return open == null || !open.isOpen() ? null : open.async();
  }

  private void publish(SemanticCache.Added added) {
    Map<String, String> event = new HashMap<>();
    event.put("origin", origin);
    event.put("type", "add");
    event.put("embedding_model", added.embeddingModel());
    event.put("namespace", added.partition().namespace());
    event.put("model", added.partition().model());
    event.put("context", added.partition().contextHash());
    event.put("entry", added.entry());
    event.put("question", added.question());
    event.put("vector", encode(added.vector()));
    append(event);
  }

  private void publish(ResponseCache.Purge purge) {
    Map<String, String> event = new HashMap<>();
    event.put("origin", origin);
    event.put("type", "purge");
    purge.namespace().ifPresent(n -> event.put("namespace", n));
    purge.model().ifPresent(m -> event.put("model", m));
    purge.hash().ifPresent(h -> event.put("entry", h));
    append(event);
  }

  private void append(Map<String, String> event) {
    RedisAsyncCommands<String, String> redis = writer();
    if (redis != null) {
      redis.xadd(STREAM, XAddArgs.Builder.maxlen(STREAM_LENGTH).approximateTrimming(), event);
    }
  }

  private void read() {
    String last = "0";
    StatefulRedisConnection<String, String> connection = null;
    boolean warned = false;
    while (!closed) {
      try {
        if (connection == null || !connection.isOpen()) {
          connection = client.connect();
          connection.setTimeout(BLOCK.plus(RedisClients.TIMEOUT));
        }
        if (writer == null) {
          writer = client.connect(); // connecting blocks, so here rather than where events are sent
        }
        List<StreamMessage<String, String>> events = connection.sync().xread(
            XReadArgs.Builder.block(BLOCK).count(500), XReadArgs.StreamOffset.from(STREAM, last));
        for (StreamMessage<String, String> event : events) {
          last = event.getId();
          if (!origin.equals(event.getBody().get("origin"))) {
            apply(event.getBody());
          }
        }
        warned = false;
      } catch (RuntimeException e) {
        if (closed) {
          break;
        }
        if (!warned) {
          warned = true;
          log.warn("Cannot read the semantic cache's stream from Redis ({}); retrying every second",
              e.toString());
        }
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
      }
    }
    if (connection != null) {
      connection.close();
    }
  }

  private void apply(Map<String, String> event) {
    if ("purge".equals(event.get("type"))) {
      semantic.applyPurge(new ResponseCache.Purge(Optional.ofNullable(event.get("namespace")),
          Optional.ofNullable(event.get("model")), Optional.ofNullable(event.get("entry"))));
      applied.incrementAndGet();
      return;
    }
    String[] required = {"embedding_model", "namespace", "model", "context", "entry", "question",
        "vector"};
    for (String field : required) {
      if (event.get(field) == null) {
        return; // not an event of this version
      }
    }
    float[] vector = decode(event.get("vector"));
    if (vector.length == 0) {
      return;
    }
    semantic.apply(new SemanticCache.Added(event.get("embedding_model"),
        new VectorIndex.Partition(event.get("namespace"), event.get("model"), event.get("context")),
        event.get("entry"), event.get("question"), vector));
    applied.incrementAndGet();
  }

  static String encode(float[] vector) {
    ByteBuffer bytes = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(vector);
    return Base64.getEncoder().encodeToString(bytes.array());
  }

  static float[] decode(String text) {
    try {
      ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(text))
          .order(ByteOrder.LITTLE_ENDIAN);
      float[] vector = new float[bytes.remaining() / 4];
      bytes.asFloatBuffer().get(vector);
      return vector;
    } catch (IllegalArgumentException e) {
      return new float[0];
    }
  }

  @Override
  public void close() {
    closed = true;
    reader.interrupt();
    StatefulRedisConnection<String, String> open = writer;
    if (open != null) {
      open.close();
    }
    try {
      reader.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    client.shutdown();
  }
}
