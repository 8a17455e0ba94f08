package io.modelway.gateway.api;

import io.modelway.openai.OpenAiException;
import org.springframework.http.server.PathContainer;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Refuses a path with a {@code .} or {@code ..} segment, plain or percent-encoded, with a 400:
 * no route of Modelway has one, and a router or endpoint handed one ({@code
 * /actuator/health/../../admin/v1/audit}) may resolve it somewhere unintended or fail. Clients
 * normalize paths before sending them, so only crafted requests are refused. Stateless.
 */
final class DotSegments implements WebFilter {

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    for (PathContainer.Element element : exchange.getRequest().getPath().elements()) {
      if (element instanceof PathContainer.PathSegment segment
          && (segment.valueToMatch().equals(".") || segment.valueToMatch().equals(".."))) {
        return Mono.error(new OpenAiException(400, "invalid_request_error",
            "The path must not hold '.' or '..' segments.", null, "invalid_path"));
      }
    }
    return chain.filter(exchange);
  }
}
