package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import io.modelway.backend.OpenAiHttpBackend;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.netty.http.client.HttpClient;

/**
 * One immutable version of the routing table: public model name → backend. Besides the models
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

  private final ModelwayConfig config;
  private final Map<String, Backend> backends;
  private final Map<String, Route> routes;

  private Catalog(ModelwayConfig config, Map<String, Backend> backends, Map<String, Route> routes) {
    this.config = config;
    this.backends = backends;
    this.routes = routes;
  }

  /**
   * Builds the catalog of {@code config}, resolving API keys through {@code env}.
   *
   * @throws ConfigException when an {@code api-key-env} variable is not set
   */
  public static Catalog build(
      ModelwayConfig config, Function<String, @Nullable String> env, HttpClient client) {
    Map<String, Backend> backends = new LinkedHashMap<>();
    config.backends().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(entry -> {
      ModelwayConfig.Backend b = entry.getValue();
      String key = null;
      if (b.apiKeyEnv() != null) {
        key = env.apply(b.apiKeyEnv());
        if (key == null || key.isBlank()) {
          throw new ConfigException("backends." + entry.getKey() + ".api-key-env: environment variable "
              + b.apiKeyEnv() + " is not set (expected: the backend's API key in it)");
        }
      }
      backends.put(entry.getKey(), new OpenAiHttpBackend(
          entry.getKey(), b.url(), key, b.headers(), b.timeouts().toTimeouts(), client));
    });
    Map<String, Route> routes = new LinkedHashMap<>();
    for (ModelwayConfig.Model m : config.models()) {
      routes.put(m.name(), new Route(m.name(), m.upstreamModelOrName(), backends.get(m.backend())));
    }
    return new Catalog(config, Map.copyOf(backends), routes);
  }

  /** The route of {@code model}: a configured model, or {@code BACKEND/MODEL}. */
  public Optional<Route> resolve(String model) {
    Route route = routes.get(model);
    return route != null ? Optional.of(route) : resolvePrefixed(model);
  }

  /** The route of a configured model named {@code model}, if there is one. */
  public Optional<Route> configured(String model) {
    return Optional.ofNullable(routes.get(model));
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

  /** The configured model names, in config order. */
  public List<String> models() {
    return List.copyOf(routes.keySet());
  }

  /** The configured backend names, sorted. */
  public List<String> backends() {
    return List.copyOf(backends.keySet());
  }

  public ModelwayConfig config() {
    return config;
  }
}
