package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.OpenAiException;
import java.util.List;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.http.server.PathContainer;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Who sees what of {@code /actuator} on the API port. {@code /actuator/health} (and its probes)
 * answers anyone with its status alone; a platform admin's key adds the details (config file,
 * data dir, store, each local model's failure with its paths): the key's principal is handed to
 * Spring Boot's health endpoint as the role {@value #ROLE}, which {@code
 * management.endpoint.health.show-details: when-authorized} asks for. {@code
 * /actuator/prometheus} names every model and backend, so it needs a platform admin's key unless
 * {@code open} ({@code MODELWAY_PROMETHEUS=open}). A key that is not an admin's is ignored on
 * health (a probe needs no key) and refused on prometheus (401, 403). Thread-safe.
 */
public final class ActuatorAccess implements WebFilter {
  /** The role Spring Boot's health endpoint shows details to. */
  public static final String ROLE = "platform_admin";

  private final Authentication admin;
  private final boolean prometheusOpen;

  public ActuatorAccess(Authentication admin, boolean prometheusOpen) {
    this.admin = requireNonNull(admin, "admin");
    this.prometheusOpen = prometheusOpen;
  }

  @Override
  public Mono<Void> filter(ServerWebExchange original, WebFilterChain chain) {
    String path = matched(original.getRequest().getPath().pathWithinApplication());
    if (!path.startsWith("/actuator")) {
      return chain.filter(original);
    }
    ServerWebExchange exchange =
        original.mutate().response(new ErrorBodies(original.getResponse())).build();
    String authorization = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
    if (path.startsWith("/actuator/prometheus") && !prometheusOpen) {
      try {
        admin.require(authorization, Role.PLATFORM_ADMIN);
      } catch (OpenAiException e) {
        return Mono.error(e);
      }
    }
    if (authorization == null) {
      return chain.filter(exchange);
    }
    Principal caller;
    try {
      caller = admin.authenticate(authorization);
    } catch (OpenAiException e) {
      return chain.filter(exchange);
    }
    if (caller.role() != Role.PLATFORM_ADMIN) {
      return chain.filter(exchange);
    }
    UsernamePasswordAuthenticationToken token = UsernamePasswordAuthenticationToken.authenticated(
        caller.keyId(), null, List.of(new SimpleGrantedAuthority("ROLE_" + ROLE)));
    return chain.filter(exchange)
        .contextWrite(ReactiveSecurityContextHolder.withAuthentication(token));
  }

  /**
   * The actuator answers some errors (an unknown health component: 404) with a status and no
   * body; this gives such an answer the OpenAI error body every other error has.
   */
  private static final class ErrorBodies extends ServerHttpResponseDecorator {
    ErrorBodies(ServerHttpResponse response) {
      super(response);
    }

    @Override
    public Mono<Void> setComplete() {
      HttpStatusCode status = getStatusCode();
      if (status == null || !status.isError() || isCommitted()) {
        return super.setComplete();
      }
      String message = status.value() == 404 ? "No such actuator endpoint or component."
          : "The actuator refused the request (" + status.value() + ").";
      byte[] body = new OpenAiException(status.value(), "invalid_request_error", message, null,
          status.value() == 404 ? "not_found" : null).toJson();
      getHeaders().setContentType(MediaType.APPLICATION_JSON);
      getHeaders().setContentLength(body.length);
      return writeWith(Mono.just(bufferFactory().wrap(body)));
    }
  }

  /**
   * {@code path} as the router matches it: its segments decoded, without matrix parameters
   * ({@code ;x=1}) and empty segments, so {@code /actuator;x/%70rometheus} is prometheus here too.
   */
  private static String matched(PathContainer path) {
    StringBuilder out = new StringBuilder();
    for (PathContainer.Element element : path.elements()) {
      if (element instanceof PathContainer.PathSegment segment
          && !segment.valueToMatch().isEmpty()) {
        out.append('/').append(segment.valueToMatch());
      }
    }
    return out.toString();
  }
}
