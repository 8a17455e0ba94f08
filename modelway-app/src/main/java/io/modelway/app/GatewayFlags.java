package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** The options that {@code up} and {@code gateway} share. */
final class GatewayFlags {
  @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT",
      description = "Port of the OpenAI-compatible API (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "0.0.0.0";

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where Modelway keeps its files (default: ~/.modelway).")
  @Nullable Path dataDir;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML config file, reloaded when it changes (default: DIR/modelway.yaml if it exists).")
  @Nullable Path config;

  @Option(names = "--upstream", paramLabel = "NAME=BASE_URL", mapFallbackValue = "",
      description = "An OpenAI-compatible backend; its models are called as NAME/<model>. Repeatable.")
  Map<String, URI> upstreams = new LinkedHashMap<>();

  @Option(names = "--upstream-key", paramLabel = "NAME=ENV_VAR",
      description = "Environment variable that holds upstream NAME's API key. Repeatable.")
  Map<String, String> upstreamKeys = new LinkedHashMap<>();

  @Option(names = "--lease-ttl", defaultValue = "10s", paramLabel = "DURATION",
      description = "How long a registered worker stays without a heartbeat (default: ${DEFAULT-VALUE}).")
  Duration leaseTtl = GatewayOptions.DEFAULT_LEASE_TTL;

  @Option(names = "--database-url", paramLabel = "JDBC_URL",
      description = "The store: jdbc:postgresql://HOST/DB for shared state (user and password from MODELWAY_DATABASE_USER and MODELWAY_DATABASE_PASSWORD); default: an H2 file in DIR/db.")
  @Nullable String databaseUrl;

  @Option(names = "--redis-url", paramLabel = "URL",
      description = "Share rate-limit counters between gateways through this Redis (redis://HOST:6379); default: counted in this process.")
  @Nullable String redisUrl;

  /** What rate limits do while Redis cannot be reached. */
  enum RedisOutage { local, refuse }

  @Option(names = "--redis-outage", defaultValue = "local", paramLabel = "MODE",
      description = "While Redis cannot be reached: local (count in this gateway alone) or refuse (answer 503) (default: ${DEFAULT-VALUE}).")
  RedisOutage redisOutage = RedisOutage.local;

  @Option(names = "--debug", negatable = false,
      description = "Print the stack traces of failures; log Modelway at DEBUG and its libraries at INFO.")
  boolean debug;

  /** The data dir, created if missing. */
  Path dataDir() {
    return DataDir.created(dataDir);
  }

  GatewayOptions toOptions(GatewayOptions.Role role) {
    Path dir = dataDir();
    Optional<Path> file = Optional.ofNullable(config);
    Path fallback = dir.resolve("modelway.yaml");
    if (file.isEmpty() && Files.isRegularFile(fallback)) {
      file = Optional.of(fallback);
    }
    return GatewayOptions.of(dir)
        .withRole(role)
        .withAddress(host, port)
        .withConfigFile(file)
        .withUpstreams(upstreams, upstreamKeys)
        .withLeaseTtl(leaseTtl)
        .withDatabaseUrl(Optional.ofNullable(databaseUrl))
        .withRedis(Optional.ofNullable(redisUrl), redisOutage == RedisOutage.local);
  }
}
