package io.modelway.gateway;

import static java.util.Objects.requireNonNull;

import io.modelway.runtime.ModelHost;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * How the server was started: what {@code modelway up}, {@code gateway} and {@code worker} take
 * on the command line. Start from {@link #of(Path)} and change what differs with the
 * {@code with…} methods.
 *
 * @param role which parts of Modelway this process runs
 * @param host the address to listen on
 * @param port the port to listen on; 0 picks a free one
 * @param dataDir where the process keeps its files
 * @param configFile the YAML config file, watched for changes; none means no configured models
 * @param upstreams backends given as {@code --upstream NAME=BASE_URL}
 * @param upstreamKeys for each upstream, the environment variable holding its API key
 * @param environment looks up environment variables (API keys, {@code MODELWAY_ADMIN_KEY},
 *     {@code MODELWAY_CLUSTER_SECRET}); {@code System::getenv} in production
 * @param models the models this process runs itself, called without an HTTP hop; their lifecycle
 *     is the caller's
 * @param leaseTtl how long a registered worker stays listed without a heartbeat
 * @param databaseUrl the store's JDBC URL; empty: an H2 file under {@code dataDir/db}
 * @param redisUrl where rate-limit counters are shared between gateway replicas ({@code
 *     redis://HOST:PORT}); empty: counted in this process
 * @param redisFailOpen while Redis cannot be reached, count in this process (true) or refuse
 *     calls with 503 (false)
 */
public record GatewayOptions(
    Role role,
    String host,
    int port,
    Path dataDir,
    Optional<Path> configFile,
    Map<String, URI> upstreams,
    Map<String, String> upstreamKeys,
    Function<String, @Nullable String> environment,
    ModelHost models,
    Duration leaseTtl,
    Optional<String> databaseUrl,
    Optional<String> redisUrl,
    boolean redisFailOpen) {

  /** Which parts of Modelway one process runs. */
  public enum Role {
    /** {@code modelway up}: gateway, registry and local models in one process. */
    ALL_IN_ONE,
    /** {@code modelway gateway}: the gateway and registry; models run in workers. */
    GATEWAY,
    /** {@code modelway worker}: local models behind the same API; no registry, no config file. */
    WORKER;

    /** Whether this role keeps a registry that workers register with. */
    public boolean hostsRegistry() {
      return this != WORKER;
    }
  }

  /** The default lease: a worker that stops heartbeating is gone within 10 seconds. */
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);

  public GatewayOptions {
    requireNonNull(role, "role");
    requireNonNull(host, "host");
    requireNonNull(dataDir, "dataDir");
    requireNonNull(configFile, "configFile");
    upstreams = Map.copyOf(requireNonNull(upstreams, "upstreams"));
    upstreamKeys = Map.copyOf(requireNonNull(upstreamKeys, "upstreamKeys"));
    requireNonNull(environment, "environment");
    requireNonNull(models, "models");
    requireNonNull(leaseTtl, "leaseTtl");
    requireNonNull(databaseUrl, "databaseUrl");
    requireNonNull(redisUrl, "redisUrl");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
    }
    if (leaseTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("leaseTtl: " + leaseTtl + " (expected: >= 1s)");
    }
  }

  /**
   * All-in-one on 127.0.0.1, a free port, no config, no upstreams, no local models, the real
   * environment and a 10 s lease.
   */
  public static GatewayOptions of(Path dataDir) {
    return new GatewayOptions(Role.ALL_IN_ONE, "127.0.0.1", 0, dataDir, Optional.empty(), Map.of(),
        Map.of(), System::getenv, ModelHost.none(), DEFAULT_LEASE_TTL, Optional.empty(), Optional.empty(), true);
  }

  public GatewayOptions withRole(Role value) {
    return new GatewayOptions(value, host, port, dataDir, configFile, upstreams, upstreamKeys,
        environment, models, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withAddress(String newHost, int newPort) {
    return new GatewayOptions(role, newHost, newPort, dataDir, configFile, upstreams, upstreamKeys,
        environment, models, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withConfigFile(Optional<Path> value) {
    return new GatewayOptions(role, host, port, dataDir, value, upstreams, upstreamKeys,
        environment, models, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withUpstreams(Map<String, URI> value, Map<String, String> keys) {
    return new GatewayOptions(role, host, port, dataDir, configFile, value, keys, environment,
        models, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withEnvironment(Function<String, @Nullable String> value) {
    return new GatewayOptions(role, host, port, dataDir, configFile, upstreams, upstreamKeys, value,
        models, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withModels(ModelHost value) {
    return new GatewayOptions(role, host, port, dataDir, configFile, upstreams, upstreamKeys,
        environment, value, leaseTtl, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withLeaseTtl(Duration value) {
    return new GatewayOptions(role, host, port, dataDir, configFile, upstreams, upstreamKeys,
        environment, models, value, databaseUrl, redisUrl, redisFailOpen);
  }

  public GatewayOptions withDatabaseUrl(Optional<String> value) {
    return new GatewayOptions(role, host, port, dataDir, configFile, upstreams, upstreamKeys,
        environment, models, leaseTtl, value, redisUrl, redisFailOpen);
  }

  public GatewayOptions withRedis(Optional<String> url, boolean failOpen) {
    return new GatewayOptions(role, host, port, dataDir, configFile, upstreams, upstreamKeys,
        environment, models, leaseTtl, databaseUrl, url, failOpen);
  }

  /** The store's JDBC URL: {@link #databaseUrl()}, else an H2 file in the data dir. */
  public String jdbcUrl() {
    return databaseUrl.orElseGet(() -> "jdbc:h2:file:" + dataDir.resolve("db").resolve("modelway")
        .toAbsolutePath() + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH"
        // Each commit goes to the file at once (H2 otherwise waits up to 500 ms): a key or a
        // plan an admin was told is saved survives the process being killed. These writes are
        // rare; the per-call usage rows go to their own SQLite file (usage.LedgerStore).
        + ";WRITE_DELAY=0");
  }
}
