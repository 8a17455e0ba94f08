package io.modelway.runtime;

import io.modelway.backend.Backend;

/**
 * A model running in this process: a {@link Backend} that reports its load and owns native
 * memory until {@link #close()}. Implementations are thread-safe.
 */
public interface ModelRuntime extends Backend, AutoCloseable {

  /** A snapshot of this model's work; cheap enough to call on every heartbeat. */
  Load load();

  /** Stops taking calls and frees the model; calls still running end with an error. */
  @Override
  void close();

  /**
   * @param slots calls (or, for embeddings, inputs in one batch) the model works on at once
   * @param busy of those, the ones in use now
   * @param queued calls (or inputs) waiting for a slot
   * @param tokens tokens processed since loading: generated ones for generation models, input
   *     ones for embedding models; a counter, so rates come from two readings
   */
  record Load(int slots, int busy, int queued, long tokens) {
    public static final Load IDLE = new Load(0, 0, 0, 0);
  }
}
