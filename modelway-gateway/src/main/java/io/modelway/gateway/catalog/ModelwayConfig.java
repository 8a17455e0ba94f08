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
 * construction, so a config that binds is a config that can run. The README's config reference
 * is checked against these declarations by a test.
 *
 * @param gateway settings of the gateway itself
 * @param backends OpenAI-compatible servers, by name
 * @param models the public model names clients send, each routed to a backend
 */
public record ModelwayConfig(
    @DefaultValue Gateway gateway,
    @DefaultValue Map<String, Backend> backends,
    @DefaultValue List<Model> models) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  public ModelwayConfig {
    requireNonNull(gateway, "gateway");
    backends = Map.copyOf(requireNonNull(backends, "backends"));
    models = List.copyOf(requireNonNull(models, "models"));
    for (String name : backends.keySet()) {
      if (!NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("backends." + name
            + ": invalid name (expected: lower-case letters, digits, '-' or '_')");
      }
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < models.size(); i++) {
      Model model = models.get(i);
      if (!backends.containsKey(model.backend())) {
        throw new IllegalArgumentException("models[" + i + "].backend: '" + model.backend()
            + "' (expected: one of the backends " + backends.keySet().stream().sorted().toList() + ")");
      }
      if (!seen.add(model.name())) {
        throw new IllegalArgumentException(
            "models[" + i + "].name: '" + model.name() + "' is defined twice (expected: unique)");
      }
    }
  }

  /** An empty config: no backends, no models, default settings. */
  public static ModelwayConfig empty() {
    return new ModelwayConfig(Gateway.DEFAULT, Map.of(), List.of());
  }

  /**
   * @param maxRequestBody larger request bodies are refused with 413 (default 10MB)
   */
  public record Gateway(@DefaultValue("10MB") DataSize maxRequestBody) {
    static final Gateway DEFAULT = new Gateway(DataSize.ofMegabytes(10));

    public Gateway {
      requireNonNull(maxRequestBody, "maxRequestBody");
      if (maxRequestBody.toBytes() < 1 || maxRequestBody.toBytes() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "max-request-body: " + maxRequestBody + " (expected: 1B to 2GB)");
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
   */
  public record Backend(
      URI url,
      @Nullable String apiKeyEnv,
      @DefaultValue Map<String, String> headers,
      @DefaultValue BackendTimeouts timeouts) {
    public Backend {
      if (url == null) {
        throw new IllegalArgumentException("url: missing (expected: the API base URL, such as http://127.0.0.1:8000/v1)");
      }
      headers = Map.copyOf(requireNonNull(headers, "headers"));
      requireNonNull(timeouts, "timeouts");
      String scheme = url.getScheme();
      if (!("http".equals(scheme) || "https".equals(scheme)) || url.getHost() == null) {
        throw new IllegalArgumentException(
            "url: '" + url + "' (expected: an http:// or https:// URL such as http://127.0.0.1:8000/v1)");
      }
      if (apiKeyEnv != null && apiKeyEnv.isBlank()) {
        throw new IllegalArgumentException("api-key-env: '' (expected: an environment variable name)");
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
   * A public model name.
   *
   * @param name what clients put in {@code model}
   * @param backend the backend that serves it
   * @param upstreamModel the name the backend knows it by (default: the same as {@code name})
   */
  public record Model(String name, String backend, @Nullable String upstreamModel) {
    public Model {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("name: missing (expected: the model name clients send)");
      }
      if (backend == null || backend.isBlank()) {
        throw new IllegalArgumentException("backend: missing (expected: a backend name)");
      }
      if (upstreamModel != null && upstreamModel.isBlank()) {
        upstreamModel = null;
      }
    }

    public String upstreamModelOrName() {
      return upstreamModel == null ? name : upstreamModel;
    }
  }
}
