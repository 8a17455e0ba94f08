package io.modelway.backend;

import reactor.core.publisher.Mono;

/**
 * Something that answers OpenAI API calls: a server over HTTP ({@link OpenAiHttpBackend}) or, in
 * the worker, a model runtime in this process.
 *
 * <p>Reactor types stand in this interface because a streamed answer needs back-pressure and
 * cancellation: cancelling the body cancels the work at the backend.
 */
public interface Backend {

  /** The name this backend has in the configuration; used in errors, logs and metrics. */
  String name();

  /**
   * Sends one call. The result completes once the backend answered with a success status; an
   * error status, a timeout or a broken connection fails it (or, after it completed, fails the
   * body) with an {@link io.modelway.openai.OpenAiException}. The caller must subscribe to or
   * cancel the body exactly once.
   */
  Mono<BackendResponse> send(BackendCall call);
}
