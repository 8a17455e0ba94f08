package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.backend.Timeouts;
import io.modelway.gateway.registry.Instance;
import io.modelway.gateway.registry.Registry;
import io.modelway.openai.OpenAiException;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

/**
 * Spreads a model's calls over the registered workers that have it ready.
 *
 * <p>Policy: power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing", 2001) on each worker's load as the gateway sees it — its calls in flight from this
 * gateway plus the queue it reported in its last heartbeat — which keeps queues short without the
 * herding of always picking the single least-loaded worker on stale data. A call that cannot
 * connect has not reached the worker, so it goes to another one (each worker tried at most once)
 * and the failed worker is skipped for a while; any other failure is the caller's.
 *
 * <p>Thread-safe.
 */
public final class InstanceBalancer {
  /**
   * A call to a worker: workers are near, so a connection that takes 2 s is a dead worker; a
   * generation may run long, so the total is the same as for any backend.
   */
  static final Timeouts WORKER_TIMEOUTS = new Timeouts(
      Duration.ofSeconds(2), Timeouts.DEFAULT.firstByte(), Timeouts.DEFAULT.total());

  private final Registry registry;
  private final HttpClient client;
  private final @org.jspecify.annotations.Nullable String clusterSecret;
  private final ConcurrentMap<String, Target> targets = new ConcurrentHashMap<>();

  /**
   * @param clusterSecret sent to workers as their API key, so they serve only the gateway
   */
  public InstanceBalancer(Registry registry, HttpClient client,
      java.util.Optional<String> clusterSecret) {
    this.registry = requireNonNull(registry, "registry");
    this.client = requireNonNull(client, "client");
    this.clusterSecret = clusterSecret.orElse(null);
    registry.onRemoved(gone -> targets.remove(gone.id()));
  }

  /** One worker as a call target: its HTTP backend and the gateway's calls in flight to it. */
  private record Target(URI address, OpenAiHttpBackend backend, AtomicInteger inFlight) {}

  /**
   * A backend that sends each call to one of the workers serving {@code model}, or empty when
   * none has it ready now.
   */
  public java.util.Optional<Backend> backendFor(String model) {
    if (registry.serving(model).isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(new Backend() {
      @Override
      public String name() {
        return "workers";
      }

      @Override
      public Mono<BackendResponse> send(BackendCall call) {
        return attempt(model, call, new HashSet<>(), null);
      }
    });
  }

  private Mono<BackendResponse> attempt(
      String model, BackendCall call, Set<String> tried, @org.jspecify.annotations.Nullable Throwable last) {
    return Mono.defer(() -> {
      List<Instance> candidates = registry.serving(model).stream()
          .filter(i -> !tried.contains(i.id()))
          .toList();
      if (candidates.isEmpty()) {
        return Mono.error(last != null ? last : new OpenAiException(503, "service_unavailable",
            "No worker has model '" + model + "' ready right now.", null, "model_unavailable"));
      }
      Instance chosen = choose(candidates);
      tried.add(chosen.id());
      Target target = target(chosen);
      target.inFlight().incrementAndGet();
      AtomicBoolean ended = new AtomicBoolean();
      Runnable end = () -> {
        if (ended.compareAndSet(false, true)) {
          target.inFlight().decrementAndGet();
        }
      };
      return target.backend().send(call)
          .map(answer -> new BackendResponse(answer.status(), answer.contentType(),
              answer.contentLength(), answer.body().doFinally(signal -> end.run())))
          .doOnCancel(end)
          .onErrorResume(e -> {
            end.run();
            if (!OpenAiHttpBackend.neverSent(e)) {
              return Mono.error(e);
            }
            registry.markUnreachable(chosen.id());
            return attempt(model, call, tried, e);
          });
    });
  }

  private Instance choose(List<Instance> candidates) {
    if (candidates.size() == 1) {
      return candidates.get(0);
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = random.nextInt(candidates.size());
    int b = random.nextInt(candidates.size() - 1);
    if (b >= a) {
      b++;
    }
    Instance first = candidates.get(a);
    Instance second = candidates.get(b);
    return cost(first) <= cost(second) ? first : second;
  }

  private int cost(Instance instance) {
    Target target = targets.get(instance.id());
    return (target == null ? 0 : target.inFlight().get()) + instance.load().queued();
  }

  private Target target(Instance instance) {
    return targets.compute(instance.id(), (id, old) -> old != null && old.address().equals(instance.address())
        ? old
        : new Target(instance.address(), new OpenAiHttpBackend("worker " + id,
            instance.address().resolve("/v1"), clusterSecret, java.util.Map.of(), WORKER_TIMEOUTS, client),
            old != null ? old.inFlight() : new AtomicInteger()));
  }
}
