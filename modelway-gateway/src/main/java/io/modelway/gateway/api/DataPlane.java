package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import org.springframework.http.HttpMethod;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import reactor.core.publisher.Mono;

/**
 * The first {@link HttpHandler}: sends {@code POST}s to the generation and embedding endpoints
 * straight to {@link OpenAiHandler}, and everything else (model listing, actuator, wrong methods,
 * unknown paths) to WebFlux as usual.
 */
final class DataPlane implements HttpHandler {
  private final OpenAiHandler api;
  private final HttpHandler rest;

  DataPlane(OpenAiHandler api, HttpHandler rest) {
    this.api = requireNonNull(api, "api");
    this.rest = requireNonNull(rest, "rest");
  }

  @Override
  public Mono<Void> handle(ServerHttpRequest request, ServerHttpResponse response) {
    if (request.getMethod() == HttpMethod.POST) {
      Endpoint endpoint = switch (request.getPath().value()) {
        case "/v1/chat/completions" -> Endpoint.CHAT_COMPLETIONS;
        case "/v1/completions" -> Endpoint.COMPLETIONS;
        case "/v1/embeddings" -> Endpoint.EMBEDDINGS;
        default -> null;
      };
      if (endpoint != null) {
        return api.call(endpoint, request, response);
      }
    }
    return rest.handle(request, response);
  }
}
