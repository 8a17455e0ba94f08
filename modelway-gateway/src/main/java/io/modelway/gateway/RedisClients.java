package io.modelway.gateway;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The gateway's Redis clients: every command bounded, and nothing queued while disconnected. */
public final class RedisClients {
  /** How long a Redis command may take before the caller goes on without Redis. */
  public static final Duration TIMEOUT = Duration.ofSeconds(1);

  private RedisClients() {}

  /**
   * A client of the Redis at {@code url} ({@code redis://HOST:PORT}). While disconnected its
   * commands fail at once, and it tries to reconnect at most a second apart (Lettuce's default
   * backs off to 30 s), so shared state is shared again about a second after Redis is back.
   */
  public static RedisClient create(String url) {
    RedisURI uri = RedisURI.create(requireNonNull(url, "url"));
    uri.setTimeout(TIMEOUT);
    RedisClient client = RedisClient.create(ClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2,
            TimeUnit.MILLISECONDS))
        .build(), uri);
    client.setOptions(ClientOptions.builder()
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(TIMEOUT))
        .build());
    return client;
  }
}
