package io.modelway.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/** A real HTTP client for a {@link SimServer} under test. */
final class SimHttp {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build();

  private final String root;

  SimHttp(SimServer sim) {
    this.root = "http://127.0.0.1:" + sim.port();
  }

  static String chat(String content, boolean stream) {
    return "{\"model\":\"m\"," + (stream ? "\"stream\":true," : "")
        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
  }

  HttpResponse<String> get(String path) {
    return send(HttpRequest.newBuilder(URI.create(root + path)).GET().build());
  }

  HttpResponse<String> post(String path, String body) {
    return send(post(path, body, HttpRequest.newBuilder()).build());
  }

  /** Sends now; the answer's lines can be read as they arrive, once its headers have. */
  CompletableFuture<HttpResponse<Stream<String>>> postStreaming(String path, String body) {
    return HTTP.sendAsync(post(path, body, HttpRequest.newBuilder()).build(),
        HttpResponse.BodyHandlers.ofLines());
  }

  /** The samples of {@code GET /metrics}, by name with labels. */
  Map<String, Double> metrics() {
    Map<String, Double> samples = new HashMap<>();
    get("/metrics").body().lines().filter(l -> !l.startsWith("#")).forEach(line -> {
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    });
    return samples;
  }

  double metric(String name) {
    return metrics().get(name + "{model_name=\"sim\"}");
  }

  private HttpRequest.Builder post(String path, String body, HttpRequest.Builder builder) {
    return builder.uri(URI.create(root + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  private static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
