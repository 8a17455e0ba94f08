package io.modelway.gateway.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.auth.Access;
import io.modelway.gateway.cache.CacheStage;
import io.modelway.gateway.quota.Admission;
import io.modelway.gateway.usage.Accounting;
import io.modelway.gateway.catalog.LiveAliases;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.registry.Registry;
import io.modelway.gateway.routing.InstancePools;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.gateway.scheduling.Schedule;
import java.time.Clock;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import io.modelway.openai.OpenAiException;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Mono;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.WebFilter;

/** Wires the OpenAI-compatible API: its routes, its handler and its error mapping. */
@Configuration(proxyBeanMethods = false)
public class ApiConfiguration {
  private static final Logger log = LoggerFactory.getLogger(ApiConfiguration.class);

  @Bean
  ModelRouter modelRouter(LiveCatalog catalog, LiveAliases aliases, GatewayOptions options,
      ObjectProvider<Registry> registry, InstancePools pools) {
    return new ModelRouter(catalog, aliases, options.models(),
        Optional.ofNullable(registry.getIfAvailable()), pools, Clock.systemUTC());
  }

  @Bean
  OpenAiHandler openAiHandler(LiveCatalog catalog, LiveAliases aliases, ModelRouter router,
      Access access,
      ObjectProvider<Admission> admission, ObjectProvider<CacheStage> cache,
      ObjectProvider<Accounting> accounting, Schedule schedule, MeterRegistry meters) {
    return new OpenAiHandler(catalog, aliases, router, access.api(),
        admission.getIfAvailable(() -> Admission.unlimited(meters)),
        cache.getIfAvailable(() -> CacheStage.off(meters)),
        accounting.getIfAvailable(Accounting::none), schedule, meters);
  }

  @Bean
  RouterFunction<ServerResponse> openAiRoutes() {
    return RouterFunctions.route()
        .route(RequestPredicates.path("/v1/chat/completions")
                .or(RequestPredicates.path("/v1/completions"))
                .or(RequestPredicates.path("/v1/embeddings"))
                .or(RequestPredicates.path("/v1/models/**")),
            ApiConfiguration::methodNotAllowed)
        .build();
  }

  private static Mono<ServerResponse> methodNotAllowed(ServerRequest request) {
    return Mono.error(new OpenAiException(405, "invalid_request_error",
        "Method " + request.method() + " is not allowed on " + request.path() + ".", null,
        "method_not_allowed"));
  }

  /** The generation and embedding routes, on Reactor Netty ahead of WebFlux. */
  @Bean
  NettyRouteProvider dataPlane(OpenAiHandler handler) {
    return new DataPlane(handler);
  }

  /**
   * The HTTP server's edges: the cap on open connections, the idle, head and body timeouts, and
   * the drain at shutdown ({@code gateway.server}, read at start-up).
   */
  @Bean
  ServerEdge serverEdge(LiveCatalog catalog, MeterRegistry meters) {
    OptionalLong fileLimit = ServerEdge.fileLimit();
    ServerEdge edge = new ServerEdge(catalog.current().config().gateway().server(), fileLimit,
        meters, System::nanoTime);
    log.info(edge.describe(fileLimit));
    return edge;
  }

  /**
   * Each connection counted and capped, with its timeouts, {@link EdgeHandler} and
   * {@link ConnectionCloseHandler} behind the HTTP codec.
   */
  @Bean
  NettyServerCustomizer serverEdges(ServerEdge edge) {
    return edge::apply;
  }

  @Bean
  ShutdownDrain shutdownDrain(ServerEdge edge) {
    return new ShutdownDrain(edge);
  }

  /**
   * WebFlux's routes (the admin API, the model listing) read bodies as the data plane does: a
   * body's timeout signalled twice by Reactor Netty goes to the debug log, not the error log.
   */
  @Bean
  WebFilter bodyTimeoutDropped() {
    return (exchange, chain) -> chain.filter(exchange)
        .contextWrite(OpenAiHandler.BODY_TIMEOUT_DROPPED);
  }

  /** A path with '.' or '..' segments is refused before any route or endpoint sees it. */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE)
  WebFilter dotSegments() {
    return new DotSegments();
  }

  /** Ahead of Spring Boot's own handler (order -1), so no error leaves in Spring's shape. */
  @Bean
  @Order(-2)
  OpenAiErrorHandler openAiErrorHandler() {
    return new OpenAiErrorHandler();
  }
}
