package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import org.jspecify.annotations.Nullable;

/**
 * One OpenAI API call as it goes to a backend.
 *
 * @param body the JSON request body, forwarded as given (the array is not copied: do not modify)
 * @param stream whether the caller asked for a stream of server-sent events
 * @param requestId the gateway's request id, sent along as {@code x-request-id}
 * @param clientHeaders the client's request headers, for routing decisions only (such as a
 *     session key); never forwarded to the backend
 * @param deadlines what overrides the backend's own timeouts for this call ({@link
 *     Deadlines#NONE}: nothing)
 */
public record BackendCall(Endpoint endpoint, byte[] body, boolean stream, String requestId,
    Headers clientHeaders, Deadlines deadlines) {
  public BackendCall {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(body, "body");
    requireNonNull(requestId, "requestId");
    requireNonNull(clientHeaders, "clientHeaders");
    requireNonNull(deadlines, "deadlines");
  }

  /** A call with the backend's own timeouts. */
  public BackendCall(
      Endpoint endpoint, byte[] body, boolean stream, String requestId, Headers clientHeaders) {
    this(endpoint, body, stream, requestId, clientHeaders, Deadlines.NONE);
  }

  /** A call without client headers. */
  public BackendCall(Endpoint endpoint, byte[] body, boolean stream, String requestId) {
    this(endpoint, body, stream, requestId, Headers.NONE, Deadlines.NONE);
  }

  /** This call with another body (the same call to a backend that names the model otherwise). */
  public BackendCall withBody(byte[] newBody) {
    return new BackendCall(endpoint, newBody, stream, requestId, clientHeaders, deadlines);
  }

  /** This call with {@code newDeadlines} over the backend's own timeouts. */
  public BackendCall withDeadlines(Deadlines newDeadlines) {
    return new BackendCall(endpoint, body, stream, requestId, clientHeaders, newDeadlines);
  }

  /** Read access to request headers, by case-insensitive name. */
  @FunctionalInterface
  public interface Headers {
    /** No headers at all. */
    Headers NONE = name -> null;

    /** The first value of header {@code name}, or null when absent. */
    @Nullable String get(String name);
  }
}
