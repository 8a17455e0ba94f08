package io.modelway.gateway.scheduling;

import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.gateway.catalog.ModelwayConfig;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A backend whose instances may take a bounded number of calls at once (a pool in which a
 * backend has {@code max-concurrent}, or a worker reports slots): its calls go through the
 * {@link Schedule} stage, which sends them with a slot taken by {@link #tryReserve}. {@link
 * #send} still sends at once, ignoring the limits. Implementations are thread-safe.
 */
public interface BoundedBackend extends Backend {

  /** The public name of the model whose queue its calls wait in. */
  String model();

  /** Its model's queue bounds. */
  ModelwayConfig.Scheduling scheduling();

  /** Whether some instance has a limit now; when none has, calls are sent without queueing. */
  boolean bounded();

  /**
   * Takes a slot for {@code call} on the instance the model's policy chooses among those with a
   * free slot (and healthy), or returns {@code null} when none has one. Never blocks.
   *
   * @param heldBack slots of each limited instance this call may not take (kept for critical
   *     calls); an instance's limit less this is at least 1
   * @throws io.modelway.openai.OpenAiException 503 when no instance serves the model any more
   */
  @Nullable Slot tryReserve(BackendCall call, int heldBack);

  /** A slot taken on one instance: either sent on once, or released. */
  interface Slot {
    /** Sends the call the slot was taken for; the slot is freed when the call ends. */
    Mono<BackendResponse> send();

    /** Frees the slot if it was not sent on; idempotent. */
    void release();
  }
}
