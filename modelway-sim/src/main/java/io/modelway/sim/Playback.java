package io.modelway.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Plays sequences through an {@link Engine} on Reactor timers, the edge between the engine's plain
 * Java physics and the HTTP server: a sequence waits for its admission, sends token 0 after the
 * admission's first-token delay and each later token after the engine's decode delay at that
 * moment, passes the {@link Chaos} gate before each token and before its tail, and ends its
 * sequence in the engine however it ends (complete, error, cancelled). Never blocks a thread:
 * waits are {@link Mono#delay} on the timer scheduler. Thread-safe.
 */
final class Playback {
  private final Engine engine;
  private final Chaos chaos;
  private final Scheduler timer;

  Playback(Engine engine, Chaos chaos, Scheduler timer) {
    this.engine = requireNonNull(engine, "engine");
    this.chaos = requireNonNull(chaos, "chaos");
    this.timer = requireNonNull(timer, "timer");
  }

  /** Emits {@code tokens} one by one, as generated, then {@code tail} at once. */
  <T> Flux<T> stream(Prompt prompt, List<T> tokens, List<T> tail) {
    int count = tokens.size();
    return Flux.using(
        () -> engine.submit(prompt, count),
        sequence -> admitted(sequence).flatMapMany(admission -> Flux.range(0, count)
            .concatMap(i -> token(i, i == 0 ? admission.firstTokenNanos() : engine.decodeNanos(),
                tokens.get(i)))
            .concatWith(Flux.defer(() -> gated(count, Flux.fromIterable(tail))))),
        engine::finish);
  }

  /** Emits {@code answer} when an answer of {@code tokens} tokens would have been generated. */
  <T> Mono<T> whole(Prompt prompt, int tokens, T answer) {
    return stream(prompt, Collections.nCopies(tokens, answer), List.of(answer)).last();
  }

  /** Emits {@code answer} unless the server hangs; then when the hang ends. */
  <T> Mono<T> unlessHung(T answer) {
    return gated(Integer.MAX_VALUE, Mono.just(answer));
  }

  private Mono<Engine.Admission> admitted(Engine.Sequence sequence) {
    CompletableFuture<Engine.Admission> admission = sequence.admission();
    if (admission.isDone()) {
      return Mono.just(admission.join());
    }
    // Completed by whichever request made room, on its thread: go on on the timer's.
    return Mono.fromFuture(admission).publishOn(timer);
  }

  private <T> Mono<T> token(int sent, long delayNanos, T token) {
    Mono<T> send = Mono.defer(() -> gated(sent, Mono.fromSupplier(() -> {
      engine.generated(1);
      return token;
    })));
    return delayNanos == 0 ? send : Mono.delay(Duration.ofNanos(delayNanos), timer).then(send);
  }

  private <T> Mono<T> gated(int sent, Mono<T> next) {
    CompletableFuture<Void> gate = chaos.gate(sent);
    return gate.isDone() ? next : Mono.fromFuture(gate).then(next);
  }

  private <T> Flux<T> gated(int sent, Flux<T> next) {
    CompletableFuture<Void> gate = chaos.gate(sent);
    return gate.isDone() ? next : Mono.fromFuture(gate).thenMany(next);
  }
}
