package io.modelway.gateway.auth;

import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.util.concurrent.Callable;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What every admin API of the store does with a call: read its JSON body, run the blocking store
 * work off the event loops, and answer with JSON — a {@link ApiKeys.Refused} becoming a 404 when
 * something named does not exist ("no …") and a 409 otherwise.
 */
public final class AdminCalls {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private AdminCalls() {}

  /** The request's body as a JSON object; a 400 when it is missing or not one. */
  public static Mono<JsonNode> body(ServerRequest request) {
    return request.bodyToMono(byte[].class)
        .switchIfEmpty(Mono.error(() -> OpenAiException.invalidRequest("The body is missing.", null)))
        .map(InspectedRequest::object);
  }

  /** Runs {@code work} on {@code blocking} and answers its JSON with {@code status}. */
  public static Mono<ServerResponse> run(Scheduler blocking, HttpStatus status,
      Callable<? extends JsonNode> work) {
    return Mono.fromCallable(work)
        .subscribeOn(blocking)
        .onErrorMap(ApiKeys.Refused.class, e -> {
          boolean missing = e.getMessage().startsWith("no ");
          return new OpenAiException(missing ? 404 : 409, "invalid_request_error",
              Character.toUpperCase(e.getMessage().charAt(0)) + e.getMessage().substring(1) + ".",
              null, missing ? "not_found" : "conflict");
        })
        .flatMap(json -> ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON)
            .bodyValue(JSON.writeValueAsBytes(json)));
  }
}
