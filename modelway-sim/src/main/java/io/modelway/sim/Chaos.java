package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The chaos mode of one simulated server, a small state machine: any mode may switch to any
 * other, except that {@link ChaosMode#DIE} is final. The state is immutable in an {@link
 * AtomicReference}, so readers never lock. Thread-safe.
 *
 * <p>A sequence asks {@link #gate(int)} before each token; in {@link ChaosMode#HANG} the gate of a
 * sequence that has sent its {@code hangTokens} opens only when the hang ends.
 */
final class Chaos {
  private static final CompletableFuture<Void> OPEN = CompletableFuture.completedFuture(null);

  /** {@code hangEnds} completes when the server leaves this state, if it is a hang. */
  private record State(ChaosMode mode, CompletableFuture<Void> hangEnds) {}

  private final int hangTokens;
  private final AtomicReference<State> state =
      new AtomicReference<>(new State(ChaosMode.NORMAL, OPEN));

  /** @param hangTokens how many tokens a sequence may send in hang mode before it stalls */
  Chaos(int hangTokens) {
    this.hangTokens = hangTokens;
  }

  ChaosMode mode() {
    return state.get().mode();
  }

  /**
   * Switches to {@code next} and returns the mode it left; leaving {@link ChaosMode#HANG} releases
   * every stalled sequence. Out of {@link ChaosMode#DIE} nothing switches: it returns {@code DIE}
   * and stays.
   */
  ChaosMode switchTo(ChaosMode next) {
    requireNonNull(next, "next");
    while (true) {
      State current = state.get();
      if (current.mode() == ChaosMode.DIE || current.mode() == next) {
        return current.mode();
      }
      State updated = new State(next, next == ChaosMode.HANG ? new CompletableFuture<>() : OPEN);
      if (state.compareAndSet(current, updated)) {
        current.hangEnds().complete(null);
        return current.mode();
      }
    }
  }

  /**
   * Completes when a sequence that has sent {@code sent} tokens may send the next one: at once,
   * unless the server hangs and {@code sent >= hangTokens}. Each caller gets its own future, so
   * cancelling it touches no other sequence.
   */
  CompletableFuture<Void> gate(int sent) {
    State current = state.get();
    if (current.mode() != ChaosMode.HANG || sent < hangTokens) {
      return OPEN;
    }
    return current.hangEnds().copy();
  }
}
