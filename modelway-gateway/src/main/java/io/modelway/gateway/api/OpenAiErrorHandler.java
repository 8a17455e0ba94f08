package io.modelway.gateway.api;

import io.modelway.openai.OpenAiException;
import io.netty.handler.timeout.ReadTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.jspecify.annotations.Nullable;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * The one place a failure becomes an HTTP response: every error leaves as an OpenAI error body
 * with its status. Failures Modelway did not foresee become a 500 that names the request id and
 * nothing else; their stack trace goes to the log only.
 */
public final class OpenAiErrorHandler implements WebExceptionHandler {
  private static final Logger log = LoggerFactory.getLogger(OpenAiErrorHandler.class);

  @Override
  public Mono<Void> handle(ServerWebExchange exchange, Throwable failure) {
    return write(exchange.getRequest(), exchange.getResponse(), failure);
  }

  /**
   * Answers {@code failure} as an OpenAI error, unless the response is already committed (then
   * the failure goes on, and the connection is cut).
   */
  static Mono<Void> write(ServerHttpRequest request, ServerHttpResponse response, Throwable failure) {
    if (response.isCommitted()) {
      return Mono.error(failure);
    }
    String requestId = response.getHeaders().getFirst(OpenAiHandler.REQUEST_ID);
    OpenAiException error = toOpenAi(
        String.valueOf(request.getMethod()), request.getPath().value(), failure, requestId);
    HttpHeaders headers = response.getHeaders();
    headers.clear();
    if (requestId != null) {
      headers.set(OpenAiHandler.REQUEST_ID, requestId);
    }
    error.retryAfter().ifPresent(value -> headers.set(HttpHeaders.RETRY_AFTER, value));
    error.headers().forEach(headers::set);
    headers.setContentType(MediaType.APPLICATION_JSON);
    response.setStatusCode(HttpStatusCode.valueOf(error.status()));
    Mono<Void> answer = response.writeWith(Mono.just(response.bufferFactory().wrap(error.toJson())));
    // A call refused before its body was read (403 on a POST, say) leaves the body unread, and
    // Reactor Netty then never starts the next request on that keep-alive connection: read the
    // body away first (a body already read, too large, or that stopped arriving is left as it
    // is).
    return error.status() == 413 || error.status() == 408 ? answer : request.getBody()
        .takeWhile(buffer -> {
          DataBufferUtils.release(buffer);
          return true;
        })
        .take(MAX_DISCARDED_BUFFERS)
        .then()
        .onErrorResume(e -> Mono.empty())
        .then(answer);
  }

  /**
   * Reactor Netty's failure of a request whose body did not arrive within its
   * {@code requestTimeout}; the class is not public.
   */
  private static final String REQUEST_TIMEOUT = "reactor.netty.http.server.RequestTimeoutException";

  /** Whether {@code failure} is a request body that stopped arriving. */
  static boolean isBodyTimeout(Throwable failure) {
    return failure instanceof ReadTimeoutException
        || failure.getClass().getName().equals(REQUEST_TIMEOUT);
  }

  /** The most buffers of an unread body read away before answering an error (about 10 MB). */
  private static final int MAX_DISCARDED_BUFFERS = 10_000;

  /**
   * The OpenAI error that {@code failure} of a call to {@code method path} is answered with.
   * Failures not foreseen are logged with their stack trace and become a 500.
   */
  static OpenAiException toOpenAi(
      String method, String path, Throwable failure, @Nullable String requestId) {
    if (failure instanceof OpenAiException e) {
      return e;
    }
    if (failure instanceof reactor.netty.channel.AbortedException) {
      // The client hung up before its answer went out: nothing to log, nobody to tell.
      return new OpenAiException(499, "client_closed", "The client closed the connection.", null,
          null);
    }
    if (isBodyTimeout(failure)) {
      // The body stopped arriving (gateway.server.request-body-timeout): the connection is being
      // closed; nothing went wrong here.
      return new OpenAiException(408, "invalid_request_error",
          "The request body did not arrive in time.", null, "request_timeout");
    }
    if (failure instanceof DataBufferLimitException) {
      return OpenAiException.bodyTooLarge(-1);
    }
    if (failure instanceof InvalidMediaTypeException) {
      return new OpenAiException(415, "invalid_request_error",
          "Content-Type must be application/json (the header could not be read).", null,
          "unsupported_media_type");
    }
    if (failure instanceof ServerWebInputException e) {
      return OpenAiException.invalidRequest(
          e.getReason() == null ? "The request could not be read." : e.getReason(), null);
    }
    if (failure instanceof ResponseStatusException e && e.getStatusCode().is4xxClientError()) {
      int status = e.getStatusCode().value();
      String message = switch (status) {
        case 404 -> "Unknown request URL: " + method + " " + path + ".";
        case 405 -> "Method " + method + " is not allowed on " + path + ".";
        case 415 -> "Content-Type must be application/json.";
        default -> e.getReason() == null ? "Invalid request." : e.getReason();
      };
      String code = switch (status) {
        case 404 -> "unknown_url";
        case 405 -> "method_not_allowed";
        case 415 -> "unsupported_media_type";
        default -> null;
      };
      return new OpenAiException(status, "invalid_request_error", message, null, code);
    }
    log.error("Unexpected failure on {} {} (request {})", method, path, requestId, failure);
    return new OpenAiException(500, "server_error",
        "The server had an error while processing your request (request id " + requestId + ").",
        null, null);
  }
}
