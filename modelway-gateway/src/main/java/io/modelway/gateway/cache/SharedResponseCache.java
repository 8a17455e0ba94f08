package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.modelway.gateway.RedisClients;
import io.modelway.gateway.catalog.ModelwayConfig;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers in Redis, shared by every gateway replica: one string per entry, {@code
 * modelway:cache:NAMESPACE:MODEL:HASH} (namespace and model in URL-safe Base64, so that no name
 * can reach into another's keys or patterns) holding the time it was written and the answer,
 * expiring with the model's TTL (plus {@code stale-if-error}); Redis's own {@code
 * maxmemory} policy bounds the total.
 *
 * <p>Fails open to {@code local}: while Redis is unreachable (not yet connected, a command that
 * fails or takes longer than {@link RedisClients#TIMEOUT}) entries are read from and written to
 * this process's cache, so a Redis outage costs hits, never a failed request. Lettuce reconnects
 * by itself; {@link #tryConnect} makes the first connection.
 */
public final class SharedResponseCache implements ResponseCache {
  private static final Logger log = LoggerFactory.getLogger(SharedResponseCache.class);
  static final String PREFIX = "modelway:cache:";
  private static final Base64.Encoder NAMES = Base64.getUrlEncoder().withoutPadding();

  private final RedisClient client;
  private final LocalResponseCache local;
  private volatile @Nullable StatefulRedisConnection<String, byte[]> connection;
  private final AtomicReference<Optional<String>> lastError =
      new AtomicReference<>(Optional.of("not connected yet"));
  private final AtomicLong failures = new AtomicLong();

  private SharedResponseCache(RedisClient client, LocalResponseCache local) {
    this.client = client;
    this.local = local;
  }

  /** Shares answers through the Redis at {@code url}, with {@code local} while it is away. */
  public static SharedResponseCache at(String url, LocalResponseCache local) {
    return new SharedResponseCache(RedisClients.create(url), requireNonNull(local, "local"));
  }

  /**
   * Connects unless connected; whether it is. Blocking: call it off the event loops.
   */
  public synchronized boolean tryConnect() {
    if (connection != null) {
      return true;
    }
    try {
      connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
      lastError.set(Optional.empty());
      log.info("Cached answers are shared through Redis at {}", client);
      return true;
    } catch (RuntimeException e) {
      if (lastError.getAndSet(Optional.of(e.toString())).isEmpty()) {
        log.warn("Cannot connect to Redis ({}); answers are cached in this gateway alone until it"
            + " answers", e.toString());
      }
      return false;
    }
  }

  /** An entry's value: the time it was written (8 bytes, epoch milliseconds), then the answer. */
  static byte[] encode(byte[] answer, long writtenAtMillis) {
    return java.nio.ByteBuffer.allocate(8 + answer.length).putLong(writtenAtMillis).put(answer)
        .array();
  }

  static Optional<Stored> decode(byte[] value) {
    if (value.length < 8) {
      return Optional.empty(); // not an entry of this version
    }
    java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(value);
    long written = buffer.getLong();
    return Optional.of(new Stored(java.util.Arrays.copyOfRange(value, 8, value.length), written));
  }

  static String redisKey(CacheKey key) {
    return PREFIX + name(key.namespace()) + ":" + name(key.model()) + ":" + key.hash();
  }

  private static String name(String s) {
    return NAMES.encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Commands to Redis while connected; else none, and the outage is noted. */
  private @Nullable RedisAsyncCommands<String, byte[]> redis() {
    StatefulRedisConnection<String, byte[]> open = connection;
    if (open == null) {
      return null;
    }
    if (!open.isOpen()) {
      failed(new IllegalStateException("connection to Redis lost; reconnecting"));
      return null;
    }
    return open.async();
  }

  @Override
  public CompletableFuture<Optional<Stored>> get(CacheKey key) {
    RedisAsyncCommands<String, byte[]> redis = redis();
    if (redis == null) {
      return local.get(key);
    }
    return redis.get(redisKey(key)).toCompletableFuture()
        .handle((value, failure) -> {
          if (failure != null) {
            failed(failure);
            return null;
          }
          reachable();
          return Optional.ofNullable(value).flatMap(SharedResponseCache::decode);
        })
        .thenCompose(found -> found != null ? CompletableFuture.completedFuture(found) : local.get(key));
  }

  @Override
  public void put(CacheKey key, byte[] answer, long writtenAtMillis,
      ModelwayConfig.Cache settings) {
    RedisAsyncCommands<String, byte[]> redis = redis();
    if (redis == null) {
      local.put(key, answer, writtenAtMillis, settings);
      return;
    }
    redis.set(redisKey(key), encode(answer, writtenAtMillis),
            SetArgs.Builder.px(settings.ttl().plus(settings.staleIfError())))
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            failed(failure);
            local.put(key, answer, writtenAtMillis, settings);
          } else {
            reachable();
          }
        });
  }

  @Override
  public CompletableFuture<Long> purge(Purge purge) {
    CompletableFuture<Long> here = local.purge(purge);
    RedisAsyncCommands<String, byte[]> redis = redis();
    if (redis == null) {
      return here;
    }
    String pattern = PREFIX + purge.namespace().map(SharedResponseCache::name).orElse("*") + ":"
        + purge.model().map(SharedResponseCache::name).orElse("*") + ":"
        + purge.hash().orElse("*");
    CompletableFuture<Long> there = scan(redis, ScanCursor.INITIAL, pattern, 0)
        .exceptionally(failure -> {
          failed(failure);
          return 0L;
        });
    return here.thenCombine(there, Long::sum);
  }

  /** Unlinks the keys matching {@code pattern}, a batch of the scan at a time. */
  private CompletableFuture<Long> scan(RedisAsyncCommands<String, byte[]> redis, ScanCursor cursor,
      String pattern, long dropped) {
    return redis.scan(cursor, ScanArgs.Builder.matches(pattern).limit(1000)).toCompletableFuture()
        .thenCompose((KeyScanCursor<String> batch) -> {
          CompletableFuture<Long> unlinked = batch.getKeys().isEmpty()
              ? CompletableFuture.completedFuture(0L)
              : redis.unlink(batch.getKeys().toArray(String[]::new)).toCompletableFuture();
          return unlinked.thenCompose(n -> batch.isFinished()
              ? CompletableFuture.completedFuture(dropped + n)
              : scan(redis, batch, pattern, dropped + n));
        });
  }

  private void failed(Throwable failure) {
    failures.incrementAndGet();
    if (lastError.getAndSet(Optional.of(failure.toString())).isEmpty()) {
      log.warn("Redis did not answer the response cache ({}); answers are cached in this gateway"
          + " alone until it does", failure.toString());
    }
  }

  private void reachable() {
    if (lastError.get().isPresent() && lastError.getAndSet(Optional.empty()).isPresent()) {
      log.info("Redis answers the response cache again");
    }
  }

  /** Why Redis was last unreachable, while it is. */
  public Optional<String> error() {
    return lastError.get();
  }

  /** Redis commands that failed, the cache falling back to this process. */
  public long failures() {
    return failures.get();
  }

  @Override
  public long bytesHeld() {
    return local.bytesHeld();
  }

  @Override
  public String mode() {
    return lastError.get().isEmpty() ? "redis" : "local (redis unreachable)";
  }

  @Override
  public void close() {
    StatefulRedisConnection<String, byte[]> open = connection;
    if (open != null) {
      open.close();
    }
    client.shutdown();
    local.close();
  }
}
