package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
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
  static final Duration TIMEOUT = Duration.ofSeconds(1);
  private static final String PREFIX = "modelway:rl:";

  private final @Nullable RedisClient client;
  private final Counters counters;
  private volatile @Nullable StatefulRedisConnection<String, byte[]> connection;
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
    RedisURI uri = RedisURI.create(requireNonNull(url, "url"));
    uri.setTimeout(TIMEOUT);
    RedisClient client = RedisClient.create(uri);
    client.setOptions(ClientOptions.builder()
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(TIMEOUT))
        .build());
    return new RedisCounters(client, counters);
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

  @Override
  public void close() {
    StatefulRedisConnection<String, byte[]> open = connection;
    if (open != null) {
      open.close();
    }
    if (client != null) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
