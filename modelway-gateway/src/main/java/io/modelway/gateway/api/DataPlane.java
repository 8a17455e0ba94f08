package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import reactor.netty.http.server.HttpServerRoutes;

/**
 * Serves {@code POST} to the generation and embedding endpoints as Reactor Netty routes on the
 * server Spring Boot runs, ahead of WebFlux: on this path WebFlux's per-request adaptation cost
 * more than the rest of the hop (see bench/README.md). Every other request — the model listing,
 * the actuator, wrong methods, unknown paths — goes on to WebFlux.
 */
final class DataPlane implements NettyRouteProvider {
  private final OpenAiHandler api;

  DataPlane(OpenAiHandler api) {
    this.api = requireNonNull(api, "api");
  }

  @Override
  public HttpServerRoutes apply(HttpServerRoutes routes) {
    return routes
        .post("/v1/chat/completions", (request, response) -> api.call(Endpoint.CHAT_COMPLETIONS, request, response))
        .post("/v1/completions", (request, response) -> api.call(Endpoint.COMPLETIONS, request, response))
        .post("/v1/embeddings", (request, response) -> api.call(Endpoint.EMBEDDINGS, request, response));
  }
}
