package io.modelway.app;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admin API as the command line calls it: {@code --url}, and the key from
 * {@code MODELWAY_ADMIN_KEY} (else {@code MODELWAY_KEY}), never from an option.
 */
final class AdminClient {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Option(names = "--url", paramLabel = "URL", defaultValue = "${env:MODELWAY_URL:-http://127.0.0.1:8080}",
      description = "The gateway (default: $MODELWAY_URL, else ${DEFAULT-VALUE}).")
  URI url = URI.create("http://127.0.0.1:8080");

  @Option(names = "--json", description = "Print the API's JSON answer as it is.")
  boolean json;

  /** Looks up environment variables; tests replace it. */
  Function<String, @Nullable String> environment = System::getenv;

  /** The admin API refused or could not be reached; the message says why. */
  static final class Failure extends RuntimeException {
    Failure(String message) {
      super(message, null, false, false);
    }
  }

  JsonNode call(String method, String path, @Nullable String body) {
    HttpResponse<String> response = send(method, path, body);
    if (response.statusCode() >= 400) {
      throw failure(response);
    }
    try {
      return JSON.readTree(response.body());
    } catch (JacksonException e) {
      throw new Failure(url + " answered " + response.statusCode() + " with no JSON");
    }
  }

  /** A GET of what this server may not serve at all: empty when it answers 404. */
  java.util.Optional<JsonNode> find(String path) {
    HttpResponse<String> response = send("GET", path, null);
    if (response.statusCode() == 404) {
      return java.util.Optional.empty();
    }
    if (response.statusCode() >= 400) {
      throw failure(response);
    }
    try {
      return java.util.Optional.of(JSON.readTree(response.body()));
    } catch (JacksonException e) {
      throw new Failure(url + " answered " + response.statusCode() + " with no JSON");
    }
  }

  /** A call whose answer is not JSON when it succeeds (CSV). */
  String text(String method, String path) {
    HttpResponse<String> response = send(method, path, null);
    if (response.statusCode() >= 400) {
      throw failure(response);
    }
    return response.body();
  }

  /** An error answer as a failure: its OpenAI error message, else its status. */
  private static Failure failure(HttpResponse<String> response) {
    String message = "";
    try {
      message = JSON.readTree(response.body()).path("error").path("message").asString("");
    } catch (JacksonException e) {
      // not JSON: say the status
    }
    return new Failure(message.isEmpty() ? "the gateway answered " + response.statusCode() : message);
  }

  private HttpResponse<String> send(String method, String path, @Nullable String body) {
    String key = environment.apply("MODELWAY_ADMIN_KEY");
    if (key == null || key.isBlank()) {
      key = environment.apply("MODELWAY_KEY");
    }
    if (key == null || key.isBlank()) {
      throw new Failure("set MODELWAY_ADMIN_KEY (or MODELWAY_KEY) to an admin key");
    }
    HttpRequest request = HttpRequest.newBuilder(url.resolve(path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + key.strip())
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body))
        .build();
    try {
      return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new Failure("cannot reach " + url + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
  }

  static String quote(String text) {
    return JSON.writeValueAsString(text);
  }
}
