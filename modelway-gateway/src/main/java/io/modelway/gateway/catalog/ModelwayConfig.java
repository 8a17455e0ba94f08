package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Timeouts;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The YAML config file: backends and the models they serve. Every record validates itself on
 * construction, so a config that binds is a config that can run. The config reference in
 * docs/configuration.md is checked against these declarations by a test.
 *
 * @param gateway settings of the gateway itself
 * @param backends OpenAI-compatible servers, by name
 * @param models the public model names clients send, each routed to a backend; on a hot reload,
 *     a file without any while some are served is refused unless it says {@code models: []}
 * @param auth how callers may authenticate besides API keys
 * @param aliases public names that stand for one or more concrete models, with weights (traffic
 *     splits for canaries and A/B tests, blue-green switches)
 */
public record ModelwayConfig(
    @DefaultValue Gateway gateway,
    @DefaultValue Map<String, Backend> backends,
    @DefaultValue List<Model> models,
    @DefaultValue Auth auth,
    @DefaultValue List<Alias> aliases) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  public ModelwayConfig {
    requireNonNull(gateway, "gateway");
    backends = Map.copyOf(requireNonNull(backends, "backends"));
    models = List.copyOf(requireNonNull(models, "models"));
    requireNonNull(auth, "auth");
    aliases = List.copyOf(requireNonNull(aliases, "aliases"));
    for (String name : backends.keySet()) {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("backends." + name
            + ": invalid name (expected: lower-case letters, digits, '-' or '_')");
      }
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < models.size(); i++) {
      Model model = models.get(i);
      if (model.backend() != null && !backends.containsKey(model.backend())) {
        throw new IllegalArgumentException("models[" + i + "].backend: '" + model.backend()
            + "' (expected: one of the backends " + backends.keySet().stream().sorted().toList() + ")");
      }
      for (int j = 0; j < model.backends().size(); j++) {
        String name = model.backends().get(j).backend();
        if (!backends.containsKey(name)) {
          throw new IllegalArgumentException("models[" + i + "].backends[" + j + "].backend: '"
              + name + "' (expected: one of the backends "
              + backends.keySet().stream().sorted().toList() + ")");
        }
      }
      if (!seen.add(model.id())) {
        throw new IllegalArgumentException("models[" + i + "].name: '" + model.id()
            + "' is defined twice (expected: each name and version once)");
      }
    }
    Set<String> aliasNames = new HashSet<>();
    for (int i = 0; i < aliases.size(); i++) {
      Alias alias = aliases.get(i);
      if (!aliasNames.add(alias.name())) {
        throw new IllegalArgumentException("aliases[" + i + "].name: '" + alias.name()
            + "' is defined twice (expected: unique)");
      }
      if (seen.contains(alias.name())) {
        throw new IllegalArgumentException("aliases[" + i + "].name: '" + alias.name()
            + "' is also a model's name (expected: a name no model has)");
      }
    }
    for (int i = 0; i < aliases.size(); i++) {
      List<Target> targets = aliases.get(i).targets();
      for (int j = 0; j < targets.size(); j++) {
        if (aliasNames.contains(targets.get(j).model())) {
          throw new IllegalArgumentException("aliases[" + i + "].targets[" + j + "].model: '"
              + targets.get(j).model() + "' is an alias (expected: a concrete model; aliases"
              + " do not chain)");
        }
      }
    }
    Set<String> names = new HashSet<>();
    models.forEach(m -> names.add(m.name()));
    for (int i = 0; i < models.size(); i++) {
      List<String> fallbacks = models.get(i).fallbacks();
      for (int j = 0; j < fallbacks.size(); j++) {
        String fallback = fallbacks.get(j);
        int slash = fallback.indexOf('/');
        boolean prefixed = slash > 0 && slash < fallback.length() - 1
            && backends.containsKey(fallback.substring(0, slash));
        if (!names.contains(fallback) && !prefixed) {
          throw new IllegalArgumentException("models[" + i + "].fallbacks[" + j + "]: '"
              + fallback + "' (expected: a model of models, or BACKEND/MODEL of a configured"
              + " backend)");
        }
      }
    }
  }

  /** An empty config: no backends, no models, default settings. */
  public static ModelwayConfig empty() {
    return new ModelwayConfig(Gateway.DEFAULT, Map.of(), List.of(), Auth.NONE, List.of());
  }

  /** This config with {@code backends} instead of its own. */
  public ModelwayConfig withBackends(Map<String, Backend> backends) {
    return new ModelwayConfig(gateway, backends, models, auth, aliases);
  }

  /**
   * Ways to authenticate besides Modelway's API keys.
   *
   * @param jwt bearer JWTs from an OIDC issuer; none: keys only
   */
  public record Auth(@Nullable Jwt jwt) {
    public static final Auth NONE = new Auth(null);
  }

  /**
   * Bearer JWTs from an OIDC issuer (Keycloak, Auth0, Okta, Entra ID…), accepted wherever an API
   * key is: signed by a key of the issuer's JWKS, not expired, from {@code issuer} (and for
   * {@code audience}, when set). The caller is the tenant named by the {@code tenantClaim}
   * claim, with the role in {@code roleClaim}.
   *
   * @param issuer the {@code iss} tokens must carry, such as {@code https://idp.example.com/realms/acme}
   * @param jwksUrl where the issuer publishes its signing keys (JWKS), reloaded every 5 minutes
   *     and when a token names a key not seen yet
   * @param audience the {@code aud} tokens must include; none: not checked
   * @param tenantClaim the claim holding the caller's tenant id (default {@code tenant})
   * @param roleClaim the claim holding its role, {@code member}, {@code tenant_admin} or {@code
   *     platform_admin} (default {@code role}; without the claim: member)
   * @param projectClaim the claim holding a project inside the tenant, if any (default {@code
   *     project})
   * @param maxLifetime the longest a token may live: it must carry {@code exp}, no further than
   *     this from now (and from its {@code iat}, when it has one), 1m to 30d (default 24h)
   */
  public record Jwt(
      String issuer,
      URI jwksUrl,
      @Nullable String audience,
      @DefaultValue("tenant") String tenantClaim,
      @DefaultValue("role") String roleClaim,
      @DefaultValue("project") String projectClaim,
      @DefaultValue("24h") Duration maxLifetime) {
    public Jwt {
      if (maxLifetime == null || maxLifetime.compareTo(Duration.ofMinutes(1)) < 0
          || maxLifetime.compareTo(Duration.ofDays(30)) > 0) {
        throw new IllegalArgumentException("max-lifetime: " + maxLifetime
            + " (expected: 1m to 30d)");
      }
      if (issuer == null || issuer.isBlank()) {
        throw new IllegalArgumentException("issuer: missing (expected: the iss of the tokens,"
            + " such as https://idp.example.com/realms/acme)");
      }
      if (jwksUrl == null || !("http".equals(jwksUrl.getScheme())
          || "https".equals(jwksUrl.getScheme())) || jwksUrl.getHost() == null) {
        throw new IllegalArgumentException("jwks-url: '" + jwksUrl
            + "' (expected: the issuer's JWKS URL, such as https://idp.example.com/certs)");
      }
      for (String claim : new String[] {tenantClaim, roleClaim, projectClaim}) {
        if (claim == null || claim.isBlank()) {
          throw new IllegalArgumentException("tenant-claim, role-claim, project-claim: ''"
              + " (expected: a claim name)");
        }
      }
    }
  }

  /**
   * @param maxRequestBody larger request bodies are refused with 413 (default 10MB)
   * @param cache the response cache of every model that sets none of its own
   * @param server the HTTP server's connection limits, timeouts and shutdown drain
   */
  public record Gateway(@DefaultValue("10MB") DataSize maxRequestBody, @DefaultValue Cache cache,
      @DefaultValue Server server) {
    static final Gateway DEFAULT = new Gateway(DataSize.ofMegabytes(10), Cache.DEFAULT,
        Server.DEFAULT);

    public Gateway {
      requireNonNull(maxRequestBody, "maxRequestBody");
      requireNonNull(cache, "cache");
      requireNonNull(server, "server");
      if (maxRequestBody.toBytes() < 1 || maxRequestBody.toBytes() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "max-request-body: " + maxRequestBody + " (expected: 1B to 2GB)");
      }
    }
  }

  /**
   * The HTTP server's edges, read once at start-up (a change applies at the next start): how long
   * a connection may wait, how many may be open, and how long a shutdown waits for calls.
   *
   * @param idleTimeout a connection with no request in progress (before its first, or between two)
   *     is closed after this long (default 60s)
   * @param requestHeadTimeout a request's line and headers must arrive within this long of their
   *     first byte, else 408 and the connection is closed (default 30s)
   * @param requestBodyTimeout a request's body must arrive within this long of its headers, else
   *     the connection is closed (default 60s)
   * @param maxConnections the most client connections open at once; one more is closed as soon as
   *     it is accepted. None (the default): from the process's open-file limit, keeping a reserve
   *     for everything else the process opens ({@code api.ServerEdge#defaultMaxConnections})
   * @param shutdownGrace on SIGTERM, how long calls in progress (streams included) may take to
   *     finish before the process closes them and exits (default 30s)
   */
  public record Server(
      @DefaultValue("60s") Duration idleTimeout,
      @DefaultValue("30s") Duration requestHeadTimeout,
      @DefaultValue("60s") Duration requestBodyTimeout,
      @Nullable Integer maxConnections,
      @DefaultValue("30s") Duration shutdownGrace) {
    public static final Server DEFAULT = new Server(Duration.ofSeconds(60), Duration.ofSeconds(30),
        Duration.ofSeconds(60), null, Duration.ofSeconds(30));

    public Server {
      between("server.idle-timeout", idleTimeout, Duration.ofMillis(100), Duration.ofDays(1),
          "100ms to 1d");
      between("server.request-head-timeout", requestHeadTimeout, Duration.ofMillis(100),
          Duration.ofHours(1), "100ms to 1h");
      between("server.request-body-timeout", requestBodyTimeout, Duration.ofMillis(100),
          Duration.ofDays(1), "100ms to 1d");
      between("server.shutdown-grace", shutdownGrace, Duration.ZERO, Duration.ofHours(1),
          "0s to 1h");
      if (maxConnections != null && (maxConnections < 1 || maxConnections > 10_000_000)) {
        throw new IllegalArgumentException(
            "server.max-connections: " + maxConnections + " (expected: 1 to 10000000)");
      }
    }

    private static void between(String field, @Nullable Duration value, Duration min,
        Duration max, String range) {
      if (value == null) {
        throw new IllegalArgumentException(field + ": missing (expected: " + range + ")");
      }
      if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
        throw new IllegalArgumentException(field + ": "
            + value.toString().substring(2).toLowerCase(java.util.Locale.ROOT)
            + " (expected: " + range + ")");
      }
    }
  }

  /**
   * An OpenAI-compatible server.
   *
   * @param url its API base URL, as an OpenAI SDK's base URL: {@code https://api.openai.com/v1}
   * @param apiKeyEnv the environment variable that holds its API key, sent as a bearer token;
   *     none when absent. The key itself never appears in the config.
   * @param headers extra headers sent with every call
   * @param timeouts deadlines of each call
   * @param healthCheck how the gateway probes it while it shares a model with other instances
   * @param maxConcurrent the most calls the gateway sends it at once, over every model it serves
   *     in a pool; calls past it wait in the model's queue ({@code scheduling}). None (the
   *     default): no limit, and its models' calls never wait in the gateway
   */
  public record Backend(
      URI url,
      @Nullable String apiKeyEnv,
      @DefaultValue Map<String, String> headers,
      @DefaultValue BackendTimeouts timeouts,
      @DefaultValue HealthCheck healthCheck,
      @Nullable Integer maxConcurrent) {

    /**
     * A backend with the default health check. (A factory, not a constructor: the binder needs
     * records to have one constructor.)
     */
    public static Backend of(URI url, @Nullable String apiKeyEnv, Map<String, String> headers,
        BackendTimeouts timeouts) {
      return new Backend(url, apiKeyEnv, headers, timeouts, HealthCheck.DEFAULT, null);
    }

    public Backend {
      if (url == null) {
        throw new IllegalArgumentException("url: missing (expected: the API base URL, such as http://127.0.0.1:8000/v1)");
      }
      headers = Map.copyOf(requireNonNull(headers, "headers"));
      requireNonNull(timeouts, "timeouts");
      requireNonNull(healthCheck, "healthCheck");
      String scheme = url.getScheme();
      if (!("http".equals(scheme) || "https".equals(scheme)) || url.getHost() == null) {
        throw new IllegalArgumentException(
            "url: '" + url + "' (expected: an http:// or https:// URL such as http://127.0.0.1:8000/v1)");
      }
      if (apiKeyEnv != null && apiKeyEnv.isBlank()) {
        throw new IllegalArgumentException("api-key-env: '' (expected: an environment variable name)");
      }
      if (maxConcurrent != null && (maxConcurrent < 1 || maxConcurrent > 100_000)) {
        throw new IllegalArgumentException(
            "max-concurrent: " + maxConcurrent + " (expected: 1 to 100000)");
      }
    }
  }

  /**
   * Deadlines of one call to a backend, from the moment it is sent.
   *
   * @param connect to open the connection (default 5s)
   * @param firstByte until the first byte of the answer; for a stream, the first token (default 60s)
   * @param total until the answer is complete (default 10m)
   */
  public record BackendTimeouts(
      @DefaultValue("5s") Duration connect,
      @DefaultValue("60s") Duration firstByte,
      @DefaultValue("10m") Duration total) {
    static final BackendTimeouts DEFAULT = new BackendTimeouts(
        Timeouts.DEFAULT.connect(), Timeouts.DEFAULT.firstByte(), Timeouts.DEFAULT.total());

    public BackendTimeouts {
      toTimeouts(connect, firstByte, total);
    }

    public Timeouts toTimeouts() {
      return toTimeouts(connect, firstByte, total);
    }

    private static Timeouts toTimeouts(Duration connect, Duration firstByte, Duration total) {
      return new Timeouts(connect, firstByte, total);
    }
  }

  /**
   * The active health probe of a backend. Probes run only while the backend shares a model's pool
   * with another instance (with nowhere else to go, a probe could change nothing): a {@code GET}
   * of {@code path} every {@code interval}; an answer below 500 within the timeout counts as up,
   * anything else as a failure. Three failures in a row, with no successful call to the backend
   * in the last 3 s, take it out: it gets no new calls until a probe or a call succeeds again
   * ({@code io.modelway.gateway.routing.InstanceHealth}).
   *
   * @param path below the base URL ({@code models}: {@code …/v1/models}, which every
   *     OpenAI-compatible server answers), or from the server's root when it starts with {@code /}
   *     ({@code /health} for vLLM and {@code modelway sim}); default {@code models}
   * @param interval between two probes (default 1s)
   * @param timeout for an answer, connection included (default 500ms); widened to 3 × the
   *     slowest of the last 20 answered probes when that is longer, up to 4 × this
   */
  public record HealthCheck(
      @DefaultValue("models") String path,
      @DefaultValue("1s") Duration interval,
      @DefaultValue("500ms") Duration timeout) {
    public static final HealthCheck DEFAULT =
        new HealthCheck("models", Duration.ofSeconds(1), Duration.ofMillis(500));

    public HealthCheck {
      if (path == null || path.isBlank() || path.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "path: '" + path + "' (expected: a path such as models or /health)");
      }
      requireNonNull(interval, "interval");
      requireNonNull(timeout, "timeout");
      if (interval.compareTo(Duration.ofMillis(100)) < 0) {
        throw new IllegalArgumentException(
            "interval: " + format(interval) + " (expected: >= 100ms)");
      }
      if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(interval) > 0) {
        throw new IllegalArgumentException("timeout: " + format(timeout)
            + " (expected: > 0 and <= interval " + format(interval) + ")");
      }
    }

    private static String format(Duration d) {
      return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A public model name and the pool of instances that serve it: the configured backends
   * ({@code backend}, or several in {@code backends}) plus every registered worker that has a
   * model of this name ready. With neither {@code backend} nor {@code backends}, only workers
   * serve it.
   *
   * @param name what clients put in {@code model}; with a {@code version}, they put {@code
   *     name@version}
   * @param version a version of the model, so that several versions of one name can be served
   *     side by side (and an alias of the bare {@code name} says which one it means); none: the
   *     model is called by {@code name} alone
   * @param backend the one backend that serves it
   * @param backends several backends that serve it, each with a weight
   * @param upstreamModel the name the configured backends know it by (default: {@code name},
   *     without the version); workers are sent its {@link #id()}
   * @param routing how calls are spread over the pool
   * @param cache which of its answers the gateway keeps and answers again (default: the
   *     gateway's {@code cache})
   * @param scheduling how its calls wait while its instances are busy
   * @param resilience its deadlines, retries and mid-stream failover
   * @param fallbacks the models that answer in its place, in order, when its whole pool fails or
   *     is down (each a model of {@code models}, or {@code BACKEND/MODEL}); default none
   */
  public record Model(
      String name,
      @Nullable String version,
      @Nullable String backend,
      @DefaultValue List<PoolBackend> backends,
      @Nullable String upstreamModel,
      @DefaultValue Routing routing,
      @Nullable Cache cache,
      @DefaultValue Scheduling scheduling,
      @DefaultValue Resilience resilience,
      @DefaultValue List<String> fallbacks) {

    /** A model served by one backend, routed and cached by default. */
    public static Model of(String name, String backend, @Nullable String upstreamModel) {
      return new Model(name, null, backend, List.of(), upstreamModel, Routing.DEFAULT, null,
          Scheduling.DEFAULT, Resilience.DEFAULT, List.of());
    }

    public Model {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("name: missing (expected: the model name clients send)");
      }
      if (name.indexOf('@') >= 0) {
        throw new IllegalArgumentException("name: '" + name
            + "' (expected: no '@'; write a version in the version field)");
      }
      if (version != null && !VERSION.matcher(version).matches()) {
        throw new IllegalArgumentException("version: '" + version
            + "' (expected: 1 to 64 letters, digits, '.', '_' or '-', such as 2 or 2025-06-01)");
      }
      if (backend != null && backend.isBlank()) {
        throw new IllegalArgumentException("backend: '' (expected: a backend name)");
      }
      backends = List.copyOf(requireNonNull(backends, "backends"));
      requireNonNull(routing, "routing");
      requireNonNull(scheduling, "scheduling");
      requireNonNull(resilience, "resilience");
      fallbacks = List.copyOf(requireNonNull(fallbacks, "fallbacks"));
      Set<String> chain = new HashSet<>();
      for (int j = 0; j < fallbacks.size(); j++) {
        String fallback = fallbacks.get(j);
        if (fallback == null || fallback.isBlank() || fallback.equals(name)
            || !chain.add(fallback)) {
          throw new IllegalArgumentException("fallbacks[" + j + "]: '" + fallback
              + "' (expected: another model's name, each once)");
        }
      }
      if (backend != null && !backends.isEmpty()) {
        throw new IllegalArgumentException("backends: given with backend '" + backend
            + "' (expected: either backend or backends)");
      }
      Set<String> inPool = new HashSet<>();
      for (int j = 0; j < backends.size(); j++) {
        if (!inPool.add(backends.get(j).backend())) {
          throw new IllegalArgumentException("backends[" + j + "].backend: '"
              + backends.get(j).backend() + "' is listed twice (expected: unique)");
        }
      }
      if (!backends.isEmpty() && backends.stream().allMatch(b -> b.weight() == 0)) {
        throw new IllegalArgumentException(
            "backends: every weight is 0 (expected: at least one backend with a weight > 0)");
      }
      if (upstreamModel != null && upstreamModel.isBlank()) {
        upstreamModel = null;
      }
    }

    public String upstreamModelOrName() {
      return upstreamModel == null ? name : upstreamModel;
    }

    /** The name clients call it by: {@code name}, or {@code name@version} with a version. */
    public String id() {
      return version == null ? name : name + '@' + version;
    }

    /** The configured backends of the pool, {@code backend} as one of weight 1. */
    public List<PoolBackend> pool() {
      return backend != null ? List.of(new PoolBackend(backend, 1)) : backends;
    }
  }

  /**
   * A backend in a model's pool.
   *
   * @param backend the backend's name
   * @param weight its share of the calls relative to the others, 0 to 100 (default 1); the
   *     {@code weighted} policy sends calls in proportion, {@code consistent-hash} gives it
   *     proportionally more sessions, and 0 sends it no new calls (draining)
   */
  public record PoolBackend(String backend, @DefaultValue("1") int weight) {
    public PoolBackend {
      if (backend == null || backend.isBlank()) {
        throw new IllegalArgumentException("backend: missing (expected: a backend name)");
      }
      if (weight < 0 || weight > 100) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 0 to 100)");
      }
    }
  }

  /** The load-balancing policies a model's pool can use. */
  public enum Policy {
    /** Each instance in turn. */
    ROUND_ROBIN,
    /** Each instance in turn, in proportion to its weight (smooth weighted round-robin). */
    WEIGHTED,
    /** The instance with the fewest calls in flight. */
    LEAST_OUTSTANDING,
    /** The better of two random instances by calls in flight times latency (EWMA). */
    P2C_EWMA,
    /** A session key's calls to the same instance (a hash ring with virtual nodes). */
    CONSISTENT_HASH,
    /** To the instance that most likely holds the prompt's prefix in its KV cache, within a load bound. */
    PREFIX_AWARE;

    /** The name in the config file, such as {@code p2c-ewma}. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * How a model's calls are spread over its pool.
   *
   * @param policy the load-balancing policy (default {@code p2c-ewma})
   * @param sessionHeader for {@code consistent-hash}: the request header that holds the session
   *     key; without it the body's {@code user} field is the key, and without that the call goes
   *     to the least loaded instance (default {@code x-session-id})
   * @param prefixCacheTokens for {@code prefix-aware}: how many prompt tokens the gateway
   *     remembers per instance as probably still in its KV cache, least recently sent forgotten
   *     first; set it near the engine's KV cache size (default 131072)
   */
  public record Routing(
      @DefaultValue("p2c-ewma") Policy policy,
      @DefaultValue("x-session-id") String sessionHeader,
      @DefaultValue("131072") int prefixCacheTokens) {
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}");
    public static final Routing DEFAULT = new Routing(Policy.P2C_EWMA, "x-session-id", 131_072);

    public Routing {
      requireNonNull(policy, "policy");
      if (sessionHeader == null || !HEADER.matcher(sessionHeader).matches()) {
        throw new IllegalArgumentException("session-header: '" + sessionHeader
            + "' (expected: a header name such as x-session-id)");
      }
      if (prefixCacheTokens < 16 || prefixCacheTokens > 1 << 26) {
        throw new IllegalArgumentException("prefix-cache-tokens: " + prefixCacheTokens
            + " (expected: 16 to 67108864)");
      }
    }
  }

  /** Which answers of a model the response cache keeps. */
  public enum CacheMode {
    /** None. */
    OFF,
    /**
     * Those of deterministic requests: {@code temperature} 0 or a {@code seed}, and every
     * embedding.
     */
    DETERMINISTIC,
    /** Every successful answer, sampled ones too: a repeated question gets the same answer. */
    ALWAYS;

    /** The name in the config file, such as {@code deterministic}. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * The response cache of a model: exact repeats of a request (same tenant namespace, model and
   * every field that changes the answer) are answered from it without calling the model.
   *
   * @param mode which answers are kept: {@code off}, {@code deterministic} (default) or {@code
   *     always}
   * @param ttl how long an answer is served after it was made (default 1h)
   * @param maxSize the most answer bytes kept for the model in each gateway's memory, least
   *     recently used dropped first (default 64MB); in Redis, entries end by their TTL
   * @param semantic near-repeats answered too: questions that mean the same (off by default)
   * @param staleIfError how long past its TTL an answer is still kept, to be served only when
   *     the model and its fallbacks fail to answer (502, 503, 504), as HTTP's {@code
   *     stale-if-error}; 0: not kept (default 0s)
   */
  public record Cache(
      @DefaultValue("deterministic") CacheMode mode,
      @DefaultValue("1h") Duration ttl,
      @DefaultValue("64MB") DataSize maxSize,
      @DefaultValue Semantic semantic,
      @DefaultValue("0s") Duration staleIfError) {
    public static final Cache DEFAULT = new Cache(CacheMode.DETERMINISTIC, Duration.ofHours(1),
        DataSize.ofMegabytes(64), Semantic.OFF, Duration.ZERO);

    public Cache {
      requireNonNull(mode, "mode");
      requireNonNull(ttl, "ttl");
      requireNonNull(maxSize, "maxSize");
      requireNonNull(semantic, "semantic");
      requireNonNull(staleIfError, "staleIfError");
      if (staleIfError.isNegative() || staleIfError.compareTo(Duration.ofDays(30)) > 0) {
        throw new IllegalArgumentException(
            "cache.stale-if-error: " + staleIfError + " (expected: 0s to 30d)");
      }
      if (semantic.enabled() && mode == CacheMode.OFF) {
        throw new IllegalArgumentException("cache.semantic.enabled: true with cache.mode off"
            + " (expected: a mode that keeps answers, deterministic or always)");
      }
      if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofDays(365)) > 0) {
        throw new IllegalArgumentException("cache.ttl: " + ttl + " (expected: 1s to 365d)");
      }
      if (maxSize.toBytes() < 1024 || maxSize.toBytes() > (1L << 40)) {
        throw new IllegalArgumentException(
            "cache.max-size: " + maxSize + " (expected: 1KB to 1TB)");
      }
    }
  }

  /**
   * The semantic cache of a model: a request whose question means the same as one answered
   * before (its embedding close enough, and no number, negation, name or unit that differs), in
   * the same context (system prompt, earlier turns, parameters), gets that answer.
   *
   * @param enabled whether near-repeats are answered (default false)
   * @param threshold the least cosine similarity of two questions' embeddings for a hit, 0 to 1
   *     (default 0.72, chosen on the labelled set in bench/semantic-cache)
   * @param embeddingModel the model that embeds questions, a model this gateway serves (default
   *     {@code all-minilm-l6-v2}, the embedded one)
   */
  public record Semantic(
      @DefaultValue("false") boolean enabled,
      @DefaultValue("0.72") double threshold,
      @DefaultValue("all-minilm-l6-v2") String embeddingModel) {
    public static final Semantic OFF = new Semantic(false, 0.72, "all-minilm-l6-v2");

    public Semantic {
      if (!(threshold > 0 && threshold <= 1)) {
        throw new IllegalArgumentException(
            "cache.semantic.threshold: " + threshold + " (expected: > 0 and <= 1)");
      }
      if (embeddingModel == null || embeddingModel.isBlank()) {
        throw new IllegalArgumentException(
            "cache.semantic.embedding-model: missing (expected: an embedding model's name)");
      }
    }
  }

  /**
   * What a model's calls do when an instance fails or is slow. Retries and mid-stream failover
   * go to another instance of the model's pool, never to the one that failed, and only when the
   * pool has another; see {@code io.modelway.gateway.resilience}.
   *
   * @param retries how many times a call that failed before a byte of it went to the client (a
   *     5xx answer, a timeout, a broken connection) is sent again, each time to an instance not
   *     tried yet; 0 to 10 (default 2). A call that could not connect at all went nowhere and is
   *     sent on without using one
   * @param backoff the wait before the first retry, doubling for each next one, each drawn at
   *     random between half and all of it (jitter); 1ms to 10s (default 50ms)
   * @param deadlines the model's deadlines, over those of the backends and workers that serve it
   * @param midStreamFailover whether a streamed chat completion whose instance dies or stalls
   *     after part of the answer went out is continued by another instance (default true)
   */
  public record Resilience(
      @DefaultValue("2") int retries,
      @DefaultValue("50ms") Duration backoff,
      @DefaultValue Deadlines deadlines,
      @DefaultValue("true") boolean midStreamFailover) {
    public static final Resilience DEFAULT =
        new Resilience(2, Duration.ofMillis(50), Deadlines.NONE, true);

    public Resilience {
      if (retries < 0 || retries > 10) {
        throw new IllegalArgumentException(
            "resilience.retries: " + retries + " (expected: 0 to 10)");
      }
      requireNonNull(backoff, "backoff");
      requireNonNull(deadlines, "deadlines");
      if (backoff.compareTo(Duration.ofMillis(1)) < 0
          || backoff.compareTo(Duration.ofSeconds(10)) > 0) {
        throw new IllegalArgumentException("resilience.backoff: " + fmt(backoff)
            + " (expected: 1ms to 10s)");
      }
    }
  }

  /**
   * A model's deadlines. Each one set overrides the same deadline of every backend (and worker)
   * that serves the model; each one absent leaves theirs.
   *
   * @param connect to open a connection to an instance
   * @param firstToken of a stream: the longest wait for its first token, and then between two
   *     tokens (a stall); past it the call is retried, or a started stream continued, elsewhere.
   *     An unstreamed answer arrives whole at its end, so only {@code total} bounds it
   * @param total from the moment the call leaves the model's queue until the answer's last byte,
   *     retries and continuations included: past it the client gets a 504, or a started stream
   *     an error event
   */
  public record Deadlines(
      @Nullable Duration connect, @Nullable Duration firstToken, @Nullable Duration total) {
    public static final Deadlines NONE = new Deadlines(null, null, null);

    public Deadlines {
      positive("connect", connect);
      positive("first-token", firstToken);
      positive("total", total);
      if (firstToken != null && total != null && firstToken.compareTo(total) > 0) {
        throw new IllegalArgumentException("resilience.deadlines.first-token: " + fmt(firstToken)
            + " (expected: <= total " + fmt(total) + ")");
      }
    }

    private static void positive(String name, @Nullable Duration d) {
      if (d != null && (d.isNegative() || d.isZero())) {
        throw new IllegalArgumentException(
            "resilience.deadlines." + name + ": " + fmt(d) + " (expected: > 0)");
      }
    }
  }

  private static String fmt(Duration d) {
    return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * How a model's calls wait in the gateway while every instance of its pool has as many calls
   * as it may take (a backend's {@code max-concurrent}, a worker's slots). A model whose instances
   * have no limit never queues.
   *
   * @param maxQueue calls that may wait at once; past it a call is refused at once (or pushes out
   *     a waiting call of a lower class or of a tenant over its share). 0: calls never wait
   *     (default 1000)
   * @param maxWait the longest a call waits for an instance; then it is refused (default 30s)
   * @param criticalReserve slots of each limited instance that only critical calls may take, so
   *     that a critical call seldom waits for a call to end; other calls see the instance's limit
   *     less this, but at least 1 (default 0)
   */
  public record Scheduling(
      @DefaultValue("1000") int maxQueue,
      @DefaultValue("30s") Duration maxWait,
      @DefaultValue("0") int criticalReserve) {
    public static final Scheduling DEFAULT = new Scheduling(1000, Duration.ofSeconds(30), 0);

    /** Bounds without a critical reserve. (A factory: the config binder needs records to have
     * one constructor.) */
    public static Scheduling of(int maxQueue, Duration maxWait) {
      return new Scheduling(maxQueue, maxWait, 0);
    }

    public Scheduling {
      if (maxQueue < 0 || maxQueue > 1_000_000) {
        throw new IllegalArgumentException("max-queue: " + maxQueue + " (expected: 0 to 1000000)");
      }
      if (criticalReserve < 0 || criticalReserve > 100_000) {
        throw new IllegalArgumentException(
            "critical-reserve: " + criticalReserve + " (expected: 0 to 100000)");
      }
      requireNonNull(maxWait, "maxWait");
      if (maxWait.compareTo(Duration.ofMillis(1)) < 0 || maxWait.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException("max-wait: "
            + maxWait.toString().substring(2).toLowerCase(java.util.Locale.ROOT)
            + " (expected: 1ms to 1h)");
      }
    }
  }

  /** How an alias's calls stay on one of its targets. */
  public enum Sticky {
    /** Each call is drawn by weight on its own. */
    NONE,
    /** All calls of one API key (or JWT subject) go to one target, while the weights stay. */
    KEY,
    /**
     * All calls of one session (the alias's {@code session-header}) go to one target, while the
     * weights stay; calls without the header are sticky per key.
     */
    SESSION;

    /** The name in the config file and the admin API, such as {@code key}. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A public model name that stands for one or more concrete models (its targets): each call to
   * it is sent to one target, chosen by weight — all of it to one target (an alias, a pinned
   * version, a blue-green switch), or split (a canary, an A/B test). Limits, cache entries, the
   * scheduler's queue, the ledger and the price are the target's.
   *
   * @param name what clients put in {@code model}; no configured model may have it, and it has
   *     no {@code /} (that is {@code BACKEND/MODEL}'s)
   * @param targets the concrete models it sends calls to, each with a weight
   * @param sticky whether a caller's calls stay on one target: {@code none} (default: each call
   *     drawn by weight), {@code key} (per API key), {@code session} (per {@code session-header})
   * @param sessionHeader for {@code sticky: session}: the request header naming the session
   *     (default {@code x-session-id})
   */
  public record Alias(
      String name,
      List<Target> targets,
      @DefaultValue("none") Sticky sticky,
      @DefaultValue("x-session-id") String sessionHeader) {
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}");

    public Alias {
      if (name == null || name.isBlank() || name.length() > 200
          || name.chars().anyMatch(c -> Character.isWhitespace(c) || c == '/')) {
        throw new IllegalArgumentException("name: '" + name + "' (expected: the model name"
            + " clients send, up to 200 characters, no spaces and no '/')");
      }
      if (targets == null || targets.isEmpty()) {
        throw new IllegalArgumentException("targets: none (expected: at least one model with a"
            + " weight, such as [{model: qwen@2, weight: 100}])");
      }
      targets = List.copyOf(targets);
      requireNonNull(sticky, "sticky");
      if (sessionHeader == null || !HEADER.matcher(sessionHeader).matches()) {
        throw new IllegalArgumentException("session-header: '" + sessionHeader
            + "' (expected: a header name such as x-session-id)");
      }
      Set<String> models = new HashSet<>();
      for (int j = 0; j < targets.size(); j++) {
        Target target = requireNonNull(targets.get(j), "target");
        if (!models.add(target.model())) {
          throw new IllegalArgumentException("targets[" + j + "].model: '" + target.model()
              + "' is listed twice (expected: unique)");
        }
        if (target.model().equals(name)) {
          throw new IllegalArgumentException("targets[" + j + "].model: '" + name
              + "' is the alias itself (expected: a concrete model)");
        }
      }
      if (targets.stream().allMatch(t -> t.weight() == 0)) {
        throw new IllegalArgumentException(
            "targets: every weight is 0 (expected: at least one target with a weight > 0)");
      }
    }
  }

  /**
   * A concrete model an alias sends calls to.
   *
   * @param model the model's name as clients could call it ({@code name} or {@code
   *     name@version} of a configured model, a local or a worker's model, or {@code
   *     BACKEND/MODEL}); not an alias
   * @param weight its share of the alias's calls relative to the other targets, 0 to 1000
   *     (default 1); 0 sends it no new calls
   */
  public record Target(String model, @DefaultValue("1") int weight) {
    public Target {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("model: missing (expected: a model name)");
      }
      if (weight < 0 || weight > 1000) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: 0 to 1000)");
      }
    }
  }
}
