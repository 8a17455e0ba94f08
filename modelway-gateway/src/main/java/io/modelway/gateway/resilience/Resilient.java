package io.modelway.gateway.resilience;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.backend.Deadlines;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Retries, deadlines and mid-stream failover of one call to a model's pool.
 *
 * <p><b>Retries.</b> A call that fails before any byte of its answer went on to the client — a
 * 5xx answer, a timeout, a broken connection, and for a stream also a failure before its first
 * event — is sent again to another instance of the pool (never one it was sent to already),
 * after a backoff that doubles with each retry, drawn at random between half and all of it
 * (AWS's "equal jitter", so that retries of many calls do not arrive together), at most {@code
 * retries} times and never past the call's total deadline. A 4xx is the caller's and is not
 * retried. Retrying can run a generation twice, and that is accepted: before the first byte the
 * client has received nothing and sees one answer; the instance that failed produced nothing
 * anybody reads; and the usage ledger records only the answer that was relayed. (After a byte
 * went out, retrying would send the client a second beginning, so it is never done.)
 *
 * <p><b>Deadlines.</b> The model's deadlines ({@link ModelwayConfig.Deadlines}) are put on every
 * attempt as {@link Deadlines} over the instance's own timeouts: connect; first token (streams
 * only: an unstreamed answer arrives whole, so its wait is bounded by the total); and one total
 * end for all attempts together, counted from the first.
 *
 * <p><b>Mid-stream failover.</b> A streamed chat completion whose instance fails after events
 * went out (it died: a broken connection; it stalled: no token within the first-token deadline;
 * or it answered an error event) is continued on another instance with the conversation plus the
 * text already sent ({@link StreamSplice}), and that instance's chunks are re-framed into the
 * same stream. Where that is impossible (no other instance, a tool call under way, {@code n > 1},
 * failover off, the deadline passed, a continuation that fails in turn with no instance left),
 * the stream's failure goes on to the relay, which ends it with a {@code finish_reason} of
 * {@value StreamSplice#CUT} and an error event.
 *
 * <p>Waits are {@link Mono#delay} on Reactor's timer; nothing blocks. Thread-safe.
 */
public final class Resilient {
  private static final Logger log = LoggerFactory.getLogger(Resilient.class);

  /** Where the attempts of one call go. */
  @FunctionalInterface
  public interface Attempts {
    /**
     * Sends {@code call} to an instance of the pool that this call was not sent to yet; fails with
     * {@link NoOtherInstance} when there is none (or none with room).
     */
    Mono<BackendResponse> next(BackendCall call);
  }

  /** There is no instance left that the call was not sent to already. */
  public static final class NoOtherInstance extends RuntimeException {
    public NoOtherInstance() {
      super("no other instance", null, false, false);
    }
  }

  private Resilient() {}

  /**
   * Sends {@code call} through {@code attempts} with the retries, deadlines and failover of
   * {@code config}.
   *
   * @param random draws the jitter of backoffs
   */
  public static Mono<BackendResponse> send(BackendCall call, ModelwayConfig.Resilience config,
      RandomGenerator random, Attempts attempts) {
    requireNonNull(call, "call");
    requireNonNull(config, "config");
    requireNonNull(random, "random");
    requireNonNull(attempts, "attempts");
    return Mono.defer(() -> new Run(call, config, random, attempts, System.nanoTime()).first());
  }

  /**
   * {@code backend} with the model's deadlines on each call: for a model served by one backend,
   * which has no other instance to retry on.
   */
  public static Backend deadlined(Backend backend, ModelwayConfig.Deadlines deadlines) {
    requireNonNull(backend, "backend");
    requireNonNull(deadlines, "deadlines");
    return new Backend() {
      @Override
      public String name() {
        return backend.name();
      }

      @Override
      public Mono<BackendResponse> send(BackendCall call) {
        return Mono.defer(() -> backend.send(
            call.withDeadlines(of(deadlines, call.stream(), System.nanoTime()))));
      }
    };
  }

  /** The per-call deadlines of a model's {@code deadlines}, for a call that starts at {@code start}. */
  static Deadlines of(ModelwayConfig.Deadlines deadlines, boolean stream, long start) {
    return new Deadlines(Optional.ofNullable(deadlines.connect()),
        stream ? Optional.ofNullable(deadlines.firstToken()) : Optional.empty(),
        deadlines.total() == null ? OptionalLong.empty()
            : OptionalLong.of(start + deadlines.total().toNanos()));
  }

  /** Whether a failure may be retried elsewhere: the instance's, not the caller's. */
  static boolean retryable(Throwable failure) {
    if (failure instanceof NoOtherInstance) {
      return false;
    }
    return !(failure instanceof OpenAiException e) || e.status() >= 500;
  }

  /** One call's attempts. */
  private static final class Run {
    private final BackendCall call;
    private final ModelwayConfig.Resilience config;
    private final RandomGenerator random;
    private final Attempts attempts;
    private final Deadlines deadlines;
    private final @Nullable StreamSplice splice;
    private int retries;

    Run(BackendCall call, ModelwayConfig.Resilience config, RandomGenerator random,
        Attempts attempts, long start) {
      this.config = config;
      this.random = random;
      this.attempts = attempts;
      this.deadlines = of(config.deadlines(), call.stream(), start);
      this.call = call.withDeadlines(deadlines);
      this.splice = call.stream() && call.endpoint() == Endpoint.CHAT_COMPLETIONS
          && config.midStreamFailover() ? new StreamSplice() : null;
    }

    Mono<BackendResponse> first() {
      return attempt(call, null);
    }

    /** One attempt; {@code cause} is the failure it retries, if it is a retry. */
    private Mono<BackendResponse> attempt(BackendCall sent, @Nullable Throwable cause) {
      return attempts.next(sent)
          .onErrorMap(NoOtherInstance.class, e -> cause != null ? cause : e)
          .map(answer -> new BackendResponse(answer.status(), answer.contentType(),
              answer.contentLength(), body(answer.body())))
          .onErrorResume(e -> e != cause ? retry(e) : Mono.error(e));
    }

    /** A retry of a call that failed with {@code failure} before any byte went on, if allowed. */
    private Mono<BackendResponse> retry(Throwable failure) {
      if (!retryable(failure) || retries >= config.retries()) {
        return Mono.error(failure);
      }
      long base = config.backoff().toNanos() << Math.min(retries, 20);
      long wait = base / 2 + random.nextLong(base / 2 + 1);
      if (!timeLeft(wait)) {
        return Mono.error(failure);
      }
      retries++;
      log.debug("Retry {} of call {} after {} ms: {}", retries, call.requestId(),
          wait / 1_000_000, failure.getMessage());
      return Mono.delay(Duration.ofNanos(wait)).then(Mono.defer(() -> attempt(call, failure)));
    }

    private boolean timeLeft(long nanos) {
      OptionalLong end = deadlines.endsAtNanos();
      return end.isEmpty() || end.getAsLong() - System.nanoTime() > nanos;
    }

    /**
     * An attempt's body: a failure before its first event is retried; after it, a chat stream is
     * continued elsewhere when it can be.
     */
    private Flux<byte[]> body(Flux<byte[]> body) {
      AtomicBoolean emitted = new AtomicBoolean();
      Flux<byte[]> observed = body.doOnNext(chunk -> emitted.set(true));
      if (splice != null) {
        observed = observed.doOnNext(splice::sent);
      }
      return observed.onErrorResume(e -> {
        if (!emitted.get()) {
          return retry(e).flatMapMany(BackendResponse::body);
        }
        return failover(e);
      });
    }

    /** The rest of a chat stream cut by {@code failure}, from another instance; else the failure. */
    private Flux<byte[]> failover(Throwable failure) {
      if (splice == null || !retryable(failure) || splice.finished()
          || splice.whyNotContinuable().isPresent() || !timeLeft(0)) {
        if (splice != null) {
          splice.whyNotContinuable().ifPresent(why ->
              log.info("Stream of call {} cut and not continued: {}", call.requestId(), why));
        }
        return Flux.error(failure);
      }
      Optional<byte[]> continuation = splice.continuation(call.body());
      if (continuation.isEmpty()) {
        return Flux.error(failure);
      }
      log.info("Stream of call {} cut after {} tokens ({}); continuing on another instance",
          call.requestId(), splice.tokens(), failure.getMessage());
      StreamSplice s = splice;
      AtomicBoolean answered = new AtomicBoolean();
      return attempts.next(call.withBody(continuation.get()))
          .onErrorMap(NoOtherInstance.class, e -> failure)
          .flatMapMany(answer -> {
            answered.set(true);
            s.continuing();
            return answer.body()
                .map(s::reframe)
                .filter(events -> events.length > 0)
                .doOnNext(s::sent)
                .onErrorResume(this::failover);
          })
          // The continuation's own answer failed (its body's failures are handled above): the
          // next instance, if any.
          .onErrorResume(e -> !answered.get() && e != failure && retryable(e)
              ? failover(e) : Flux.error(e));
    }
  }
}
