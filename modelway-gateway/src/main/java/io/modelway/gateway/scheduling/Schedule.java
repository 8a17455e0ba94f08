package io.modelway.gateway.scheduling;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.openai.OpenAiException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;

/**
 * The Schedule stage, between Admit and the backend call: a call to a model whose instances have
 * limits of calls at once ({@link BoundedBackend#bounded}) waits in the model's queue of the
 * {@link Scheduler} for a slot, and is then sent to the instance the slot is on; a call to any
 * other backend is sent at once, with nothing allocated for it here.
 *
 * <p>The caller's class is its plans' ({@link #callers}); the request header {@value
 * Priority#HEADER} may lower it to {@code standard} or {@code sheddable}. A header that names a
 * higher class than the plan's is ignored (the plan's class applies: a client library may send
 * one value to every gateway), and one that names no class is a 400. A client that goes away
 * while its call waits takes the call out of the queue at once. Thread-safe.
 */
public final class Schedule {
  private final Scheduler scheduler;
  private final Function<Principal, Scheduler.Caller> callers;

  /**
   * @param callers the tenant, class and weight of a principal's calls, from its plans
   */
  public Schedule(Scheduler scheduler, Function<Principal, Scheduler.Caller> callers) {
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.callers = requireNonNull(callers, "callers");
  }

  /**
   * Sends {@code call} from {@code principal} on {@code route}, once a slot is free if its
   * instances have limits.
   *
   * @return the backend's answer; fails with a 429 or 503 {@link OpenAiException} when the
   *     model's queue refuses the call, 400 for a malformed {@value Priority#HEADER}
   */
  public Mono<BackendResponse> send(Catalog.Route route, Principal principal, BackendCall call) {
    String asked = call.clientHeaders().get(Priority.HEADER);
    if (!(route.backend() instanceof BoundedBackend pool) || !pool.bounded()) {
      if (asked != null) {
        requested(asked); // validated the same whether the model queues or not
      }
      return route.backend().send(call);
    }
    Scheduler.Caller caller = caller(callers.apply(principal), asked);
    int heldBack = caller.priority() == Priority.CRITICAL ? 0 : pool.scheduling().criticalReserve();
    CompletableFuture<BoundedBackend.Slot> grant = scheduler.schedule(pool.model(),
        pool.scheduling(), caller, () -> pool.tryReserve(call, heldBack),
        BoundedBackend.Slot::release);
    if (grant.isDone() && !grant.isCompletedExceptionally()) {
      BoundedBackend.Slot now = grant.join();
      return now.send().doOnCancel(now::release);
    }
    return Mono.fromFuture(grant, true)
        .doFinally(signal -> {
          // After the cancel went up, so the waiter hears nothing more: out of the queue, or,
          // granted meanwhile, the slot given back.
          if (signal == SignalType.CANCEL && !grant.cancel(false)) {
            grant.thenAccept(BoundedBackend.Slot::release);
          }
        })
        .flatMap(slot -> slot.send().doOnCancel(slot::release));
  }

  /** {@code planned}, with its class lowered to the one {@code asked} names, if lower. */
  static Scheduler.Caller caller(Scheduler.Caller planned, @Nullable String asked) {
    if (asked == null) {
      return planned;
    }
    Priority lowered = planned.priority().atMost(requested(asked));
    return lowered == planned.priority() ? planned
        : new Scheduler.Caller(planned.tenant(), lowered, planned.weight());
  }

  private static Priority requested(String asked) {
    return Priority.parse(asked).orElseThrow(() -> OpenAiException.invalidRequest(
        "Header " + Priority.HEADER + ": '" + asked + "' (expected: standard or sheddable, to"
            + " lower the class of this call below its plan's).", null));
  }
}
