package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;

/**
 * One OpenAI API call as it goes to a backend.
 *
 * @param body the JSON request body, forwarded as given (the array is not copied: do not modify)
 * @param stream whether the caller asked for a stream of server-sent events
 * @param requestId the gateway's request id, sent along as {@code x-request-id}
 */
public record BackendCall(Endpoint endpoint, byte[] body, boolean stream, String requestId) {
  public BackendCall {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(body, "body");
    requireNonNull(requestId, "requestId");
  }
}
