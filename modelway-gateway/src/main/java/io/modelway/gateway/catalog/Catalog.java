package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import io.modelway.backend.LoopClients;
import io.modelway.backend.OpenAiHttpBackend;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * One immutable version of the routing table: public model name → its configured backends. Besides the models
 * the config names, {@code BACKEND/MODEL} reaches any model of a configured backend (the
 * provider-prefix convention), sent on as {@code MODEL}. Thread-safe.
 */
public final class Catalog {

  /**
   * Where one model's requests go.
   *
   * @param model the public name
   * @param upstreamModel the name sent to the backend
   */
  public record Route(String model, String upstreamModel, Backend backend) {
    public Route {
      requireNonNull(model, "model");
      requireNonNull(upstreamModel, "upstreamModel");
      requireNonNull(backend, "backend");
    }
  }

  /**
   * A configured backend as a member of a model's pool.
   *
   * @param backend its name in the config
   * @param weight its weight in this pool, 0 to 100
   * @param maxConcurrent the most calls it takes at once from this gateway; 0: no limit
   */
  public record Member(String backend, OpenAiHttpBackend client, int weight,
      ModelwayConfig.HealthCheck healthCheck, int maxConcurrent) {
    public Member {
      requireNonNull(backend, "backend");
      requireNonNull(client, "client");
      requireNonNull(healthCheck, "healthCheck");
    }
  }

  /**
   * A configured model: its configured backends (none when only registered workers serve it) and
   * how its calls are spread over them and over the workers that join them.
   *
   * @param upstreamModel the name sent to the configured backends
   * @param scheduling how its calls wait while its instances are busy
   * @param resilience its deadlines, retries and mid-stream failover
   * @param fallbacks the models that answer in its place when its pool fails, in order
   */
  public record Pool(String model, String upstreamModel, List<Member> members,
      ModelwayConfig.Routing routing, ModelwayConfig.Scheduling scheduling,
      ModelwayConfig.Resilience resilience, List<String> fallbacks) {
    public Pool {
      requireNonNull(model, "model");
      requireNonNull(upstreamModel, "upstreamModel");
      members = List.copyOf(requireNonNull(members, "members"));
      requireNonNull(routing, "routing");
      requireNonNull(scheduling, "scheduling");
      requireNonNull(resilience, "resilience");
      fallbacks = List.copyOf(requireNonNull(fallbacks, "fallbacks"));
    }
  }

  private final ModelwayConfig config;
  private final Map<String, OpenAiHttpBackend> backends;
  private final Map<String, Pool> pools;
  private final Map<String, ModelwayConfig.Cache> caches;
  private final Map<String, ModelwayConfig.Alias> aliases;

  private Catalog(ModelwayConfig config, Map<String, OpenAiHttpBackend> backends,
      Map<String, Pool> pools) {
    this.config = config;
    this.backends = backends;
    this.pools = pools;
    Map<String, ModelwayConfig.Cache> own = new HashMap<>();
    config.models().stream().filter(m -> m.cache() != null)
        .forEach(m -> own.put(m.id(), m.cache()));
    this.caches = Map.copyOf(own);
    Map<String, ModelwayConfig.Alias> byName = new LinkedHashMap<>();
    config.aliases().forEach(a -> byName.put(a.name(), a));
    this.aliases = java.util.Collections.unmodifiableMap(byName);
  }

  /**
   * Builds the catalog of {@code config}, resolving API keys through {@code env}.
   *
   * @throws ConfigException when an {@code api-key-env} variable is not set
   */
  public static Catalog build(
      ModelwayConfig config, Function<String, @Nullable String> env, LoopClients clients) {
    Map<String, OpenAiHttpBackend> backends = new LinkedHashMap<>();
    config.backends().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(entry -> {
      ModelwayConfig.Backend b = entry.getValue();
      String key = apiKey(entry.getKey(), b, env);
      backends.put(entry.getKey(), new OpenAiHttpBackend(
          entry.getKey(), b.url(), key, b.headers(), b.timeouts().toTimeouts(), clients));
    });
    Map<String, Pool> pools = new LinkedHashMap<>();
    for (ModelwayConfig.Model m : config.models()) {
      List<Member> members = m.pool().stream()
          .map(p -> {
            ModelwayConfig.Backend b = config.backends().get(p.backend());
            return new Member(p.backend(), backends.get(p.backend()), p.weight(), b.healthCheck(),
                b.maxConcurrent() == null ? 0 : b.maxConcurrent());
          })
          .toList();
      pools.put(m.id(), new Pool(m.id(), m.upstreamModelOrName(), members, m.routing(),
          m.scheduling(), m.resilience(), m.fallbacks()));
    }
    return new Catalog(config, Map.copyOf(backends), pools);
  }

  /**
   * Checks that every backend's {@code api-key-env} variable is set, as {@link #build} needs, so
   * a start can be refused before anything slow runs.
   *
   * @throws ConfigException naming the first backend whose variable is not set
   */
  public static void requireApiKeys(ModelwayConfig config, Function<String, @Nullable String> env) {
    config.backends().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(entry -> apiKey(entry.getKey(), entry.getValue(), env));
  }

  private static @Nullable String apiKey(String name, ModelwayConfig.Backend backend,
      Function<String, @Nullable String> env) {
    if (backend.apiKeyEnv() == null) {
      return null;
    }
    String key = env.apply(backend.apiKeyEnv());
    if (key == null || key.isBlank()) {
      throw new ConfigException("backends." + name + ".api-key-env: environment variable "
          + backend.apiKeyEnv() + " is not set (expected: the backend's API key in it)");
    }
    return key;
  }

  /**
   * The route of {@code model} to a configured backend: a configured model with exactly one
   * backend, or {@code BACKEND/MODEL}. Pools with several instances are routed by
   * {@code io.modelway.gateway.routing}.
   */
  public Optional<Route> resolve(String model) {
    Pool pool = pools.get(model);
    if (pool != null) {
      return pool.members().size() == 1 && pool.members().get(0).maxConcurrent() == 0
          ? Optional.of(new Route(model, pool.upstreamModel(), pool.members().get(0).client()))
          : Optional.empty();
    }
    return resolvePrefixed(model);
  }

  /** The configured model named {@code model}, if there is one. */
  public Optional<Pool> pool(String model) {
    return Optional.ofNullable(pools.get(model));
  }

  /** Every configured model, in config order. */
  public List<Pool> pools() {
    return List.copyOf(pools.values());
  }

  /** The route of {@code BACKEND/MODEL}, if {@code BACKEND} is a configured backend. */
  public Optional<Route> resolvePrefixed(String model) {
    int slash = model.indexOf('/');
    if (slash > 0 && slash < model.length() - 1) {
      Backend backend = backends.get(model.substring(0, slash));
      if (backend != null) {
        return Optional.of(new Route(model, model.substring(slash + 1), backend));
      }
    }
    return Optional.empty();
  }

  /** The response cache settings of {@code model}: its own, else the gateway's. */
  public ModelwayConfig.Cache cache(String model) {
    return caches.getOrDefault(model, config.gateway().cache());
  }

  /** The configured model names, in config order. */
  public List<String> models() {
    return List.copyOf(pools.keySet());
  }

  /** The alias of the config named {@code name}, if there is one. */
  public Optional<ModelwayConfig.Alias> alias(String name) {
    return Optional.ofNullable(aliases.get(name));
  }

  /** The aliases of the config, in config order. */
  public List<ModelwayConfig.Alias> aliases() {
    return List.copyOf(aliases.values());
  }

  /** The configured backend named {@code name}, if there is one. */
  public Optional<OpenAiHttpBackend> backend(String name) {
    return Optional.ofNullable(backends.get(name));
  }

  /** The configured backend names, sorted. */
  public List<String> backends() {
    return backends.keySet().stream().sorted().toList(); // Map.copyOf keeps no order
  }

  public ModelwayConfig config() {
    return config;
  }
}
