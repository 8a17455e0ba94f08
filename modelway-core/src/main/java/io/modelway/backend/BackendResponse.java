package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import reactor.core.publisher.Flux;

/**
 * A backend's successful answer, before its body was read.
 *
 * @param body the body as it arrives. For a stream it is whole server-sent events, ending with
 *     {@code data: [DONE]}; a stream that breaks before that fails with an
 *     {@link io.modelway.openai.OpenAiException} instead of completing.
 * @param contentLength the body's length in bytes as the backend announced it, or -1
 */
public record BackendResponse(int status, String contentType, long contentLength, Flux<byte[]> body) {
  public BackendResponse {
    requireNonNull(contentType, "contentType");
    requireNonNull(body, "body");
  }
}
