package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Chat completions through an OpenAI-compatible API with {@link HttpClient} (HTTP/1.1, connections
 * kept alive and reused), streamed or not. Request bodies are built once per client. Thread-safe.
 */
final class ApiClient implements Generator {
  /** The key the benchmark's server is started with ({@code MODELWAY_ADMIN_KEY}). */
  static final String KEY = System.getenv().getOrDefault("MODELWAY_ADMIN_KEY", "mw-bench-key");

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final HttpClient http;
  private final URI chat;
  private final boolean stream;
  private final Duration timeout;
  private final byte[][] bodies;

  /**
   * @param base the API's base URL, such as {@code http://127.0.0.1:8080/v1}
   * @param stream whether to ask for {@code "stream": true} (with usage in the last event)
   */
  ApiClient(HttpClient http, URI base, String model, Prompts prompts, int tokens, boolean stream,
      Duration timeout) {
    this.http = requireNonNull(http, "http");
    this.chat = URI.create(requireNonNull(base, "base").toString().replaceFirst("/$", "")
        + "/chat/completions");
    this.stream = stream;
    this.timeout = requireNonNull(timeout, "timeout");
    this.bodies = new byte[prompts.clients()][];
    for (int client = 0; client < bodies.length; client++) {
      bodies[client] = prompts.chatRequest(client, model, tokens, stream);
    }
  }

  @Override
  public Completion generate(int client, boolean keepText) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(chat)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + KEY)
        // Every call reaches the model: the gateway's exact cache would answer these repeated
        // greedy requests itself (the Cache stage, after this benchmark was written).
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofByteArray(bodies[client]))
        .build();
    if (!stream) {
      HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() != 200) {
        throw failed(response.statusCode(), response.body());
      }
      JsonNode answer = JSON.readTree(response.body());
      int tokens = answer.at("/usage/completion_tokens").asInt(-1);
      if (tokens < 0) {
        throw new IOException("no usage.completion_tokens in "
            + SseStream.excerpt(new String(response.body(), StandardCharsets.UTF_8)));
      }
      return new Completion(tokens,
          keepText ? answer.at("/choices/0/message/content").asString("") : "");
    }
    HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw failed(response.statusCode(), body.readAllBytes());
      }
      return SseStream.read(
          new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8), 1 << 14), keepText);
    }
  }

  private IOException failed(int status, byte[] body) {
    return new IOException(chat + " answered " + status + ": "
        + SseStream.excerpt(new String(body, StandardCharsets.UTF_8)));
  }
}
