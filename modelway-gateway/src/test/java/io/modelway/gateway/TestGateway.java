package io.modelway.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A real gateway on a free port, with a real HTTP client, for tests. */
public final class TestGateway implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final ConfigurableApplicationContext context;
  private final String base;
  private final Path configFile;

  private TestGateway(ConfigurableApplicationContext context, Path configFile) {
    this.context = context;
    this.base = "http://127.0.0.1:" + GatewayRole.port(context);
    this.configFile = configFile;
  }

  /** The admin key every test gateway has ({@code MODELWAY_ADMIN_KEY}); it also works on /v1. */
  public static final String KEY = "mw-test-admin-key";

  /**
   * Starts a gateway whose config file holds {@code yaml}; {@code env} stands for the
   * environment, with {@code MODELWAY_ADMIN_KEY} set to {@link #KEY} unless it sets it.
   */
  public static TestGateway start(String yaml, Map<String, String> env) {
    return start(yaml, env, options -> options);
  }

  /** {@link #start(String, Map)}, with the options {@code customize} makes of the defaults. */
  public static TestGateway start(String yaml, Map<String, String> env,
      java.util.function.UnaryOperator<GatewayOptions> customize) {
    try {
      Path dir = Files.createTempDirectory("modelway-test");
      Path file = dir.resolve("modelway.yaml");
      Files.writeString(file, yaml);
      Map<String, String> withKey = new java.util.HashMap<>(env);
      withKey.putIfAbsent("MODELWAY_ADMIN_KEY", KEY);
      return new TestGateway(GatewayRole.start(customize.apply(GatewayOptions.of(dir)
          .withConfigFile(Optional.of(file)).withEnvironment(withKey::get))), file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String url(String path) {
    return base + path;
  }

  public Path configFile() {
    return configFile;
  }

  public <T> T bean(Class<T> type) {
    return context.getBean(type);
  }

  /** {@code request} with the test admin key, as a client of the API would send it. */
  public static HttpRequest.Builder authorized(HttpRequest.Builder request) {
    return request.header("Authorization", "Bearer " + KEY);
  }

  public HttpResponse<String> post(String path, String json) {
    return send(authorized(HttpRequest.newBuilder(URI.create(url(path))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build());
  }

  /** {@code method path} with {@code key} (none: no Authorization header) and a JSON body. */
  public HttpResponse<String> call(String method, String path, @Nullable String key,
      @Nullable String body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url(path)))
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return send(request.build());
  }

  /** The JSON of an answer that must be a success (200 or 201); the body names a failure. */
  public static JsonNode ok(HttpResponse<String> response) {
    org.assertj.core.api.Assertions.assertThat(response.statusCode()).as(response.body())
        .isBetween(200, 201);
    return JSON.readTree(response.body());
  }

  public HttpResponse<String> get(String path) {
    return send(authorized(HttpRequest.newBuilder(URI.create(url(path)))).GET().build());
  }

  /** Sends {@code request}; a server that does not answer within a minute fails the test. */
  public static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString())
          .get(60, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof IOException io ? new UncheckedIOException(io)
          : new IllegalStateException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer within 60 s to " + request.method() + " " + request.uri());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public static HttpClient client() {
    return HTTP;
  }

  @Override
  public void close() {
    context.close();
  }
}
