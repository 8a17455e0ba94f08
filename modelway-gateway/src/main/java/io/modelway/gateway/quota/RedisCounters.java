package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.modelway.gateway.RedisClients;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection that shares {@link Counters}' windows through Redis. Until Redis first answers
 * — it may be down when the gateway starts — {@link #tryConnect} is retried; once connected,
 * Lettuce reconnects by itself, and while it is disconnected commands fail at once (rather than
 * queue) so that a call never waits on an outage. Keys are {@code modelway:rl:} and the window's
 * name, and expire once their window would be full again.
 */
final class RedisCounters implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisCounters.class);
  /** The longest a call waits for Redis before the outage rules apply. */
  static final Duration TIMEOUT = RedisClients.TIMEOUT;
  private static final String PREFIX = "modelway:rl:";

  private final @Nullable RedisClient client;
  private final Counters counters;
  private volatile @Nullable StatefulRedisConnection<String, byte[]> connection;
  private volatile @Nullable StatefulRedisConnection<String, String> monthConnection;
  private boolean warned;

  private RedisCounters(@Nullable RedisClient client, Counters counters) {
    this.client = client;
    this.counters = requireNonNull(counters, "counters");
  }

  /** No Redis: {@code counters} count in this process. */
  static RedisCounters none(Counters counters) {
    return new RedisCounters(null, counters);
  }

  /** Shares {@code counters} through the Redis at {@code url} ({@code redis://HOST:PORT}). */
  static RedisCounters at(String url, Counters counters) {
    return new RedisCounters(RedisClients.create(url), counters);
  }

  /**
   * Connects unless connected (or without Redis); whether it is. Blocking: call it off the event
   * loops.
   */
  synchronized boolean tryConnect() {
    RedisClient client = this.client;
    if (client == null) {
      return false;
    }
    if (connection != null) {
      counters.reportOutage();
      return true;
    }
    try {
      StatefulRedisConnection<String, byte[]> opened =
          client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
      counters.connected(Bucket4jLettuce.casBasedBuilder(opened)
          .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
              Duration.ofSeconds(10)))
          .build()
          .asAsync()
          .withMapper((String key) -> PREFIX + key));
      StatefulRedisConnection<String, String> text = client.connect(StringCodec.UTF8);
      counters.connected(new Months(text.async()));
      counters.connected(new Places(text.async()));
      monthConnection = text;
      connection = opened;
      log.info("Rate limits are shared through Redis at {}", client.toString());
      counters.reportOutage();
      return true;
    } catch (RuntimeException e) {
      if (!warned) {
        warned = true;
        log.warn("Cannot connect to Redis ({}); rate limits {} until it answers", e.toString(),
            counters.failsOpen() ? "are counted in this gateway alone" : "refuse every call");
      }
      return false;
    }
  }

  /**
   * Calls at once in Redis: per holder, a sorted set of the calls in flight on every replica,
   * each scored with the time its place lapses. A script drops lapsed places, and adds one if
   * fewer than the limit are left, in one step; a call that ends removes its place. A place lapses
   * {@link #LEASE} after it was taken, so the places of a gateway that died with calls in flight
   * are given back then (a call that runs longer than that stops being counted).
   */
  private static final class Places implements Counters.PlaceTally {
    static final Duration LEASE = Duration.ofMinutes(15);
    private static final String ENTER = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """;

    private final RedisAsyncCommands<String, String> redis;

    Places(RedisAsyncCommands<String, String> redis) {
      this.redis = redis;
    }

    @Override
    public CompletableFuture<Boolean> enter(String key, String member, int max) {
      long now = System.currentTimeMillis();
      return redis.<Long>eval(ENTER, ScriptOutputType.INTEGER, new String[] {PREFIX + key},
              Long.toString(now), Integer.toString(max), Long.toString(now + LEASE.toMillis()),
              member, Long.toString(LEASE.toMillis()))
          .toCompletableFuture()
          .thenApply(took -> took == 1);
    }

    @Override
    public void leave(String key, String member) {
      redis.zrem(PREFIX + key, member);
    }
  }

  /**
   * Months' use in Redis: one counter per holder and month, changed by a script that checks the
   * limit and adds in one step, so replicas never add past a hard limit together. Counters are
   * seeded from the ledger when missing and expire 40 days after their last change.
   */
  private static final class Months implements Counters.MonthTally {
    private static final String RESERVE = """
        local used = redis.call('GET', KEYS[1])
        if not used then return {-1, 0} end
        used = tonumber(used)
        local amount = tonumber(ARGV[1])
        if ARGV[3] == '1' and used + amount > tonumber(ARGV[2]) then return {0, used} end
        redis.call('INCRBY', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[1], ARGV[4])
        return {1, used}
        """;
    private static final String TTL = Long.toString(Duration.ofDays(40).toSeconds());

    private final RedisAsyncCommands<String, String> redis;

    Months(RedisAsyncCommands<String, String> redis) {
      this.redis = redis;
    }

    @Override
    public CompletableFuture<Counters.Reserved> reserve(String key, long amount, long limit,
        boolean hard, Supplier<CompletableFuture<Long>> seed) {
      return run(key, amount, limit, hard).thenCompose(result -> result != null
          ? CompletableFuture.completedFuture(result)
          : seed.get()
              .thenCompose(before -> redis.set(PREFIX + key, Long.toString(before),
                  SetArgs.Builder.nx().ex(Duration.ofDays(40))).toCompletableFuture())
              .thenCompose(ignored -> run(key, amount, limit, hard))
              .thenApply(retried -> {
                if (retried == null) {
                  throw new IllegalStateException("month counter " + key + " vanished");
                }
                return retried;
              }));
    }

    /** The script's answer; null when the counter is missing. */
    private CompletableFuture<Counters.@Nullable Reserved> run(String key, long amount, long limit,
        boolean hard) {
      return redis.<List<Long>>eval(RESERVE, ScriptOutputType.MULTI, new String[] {PREFIX + key},
              Long.toString(amount), Long.toString(limit), hard ? "1" : "0", TTL)
          .toCompletableFuture()
          .thenApply(result -> result.get(0) < 0 ? null
              : new Counters.Reserved(result.get(0) == 1, result.get(1), true));
    }

    @Override
    public void adjust(String key, long delta) {
      redis.incrby(PREFIX + key, delta);
    }
  }

  @Override
  public void close() {
    StatefulRedisConnection<String, byte[]> open = connection;
    if (open != null) {
      open.close();
    }
    StatefulRedisConnection<String, String> months = monthConnection;
    if (months != null) {
      months.close();
    }
    if (client != null) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      client.getResources().shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
