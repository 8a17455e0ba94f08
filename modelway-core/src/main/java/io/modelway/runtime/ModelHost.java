package io.modelway.runtime;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.OpenAiException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * The models this process runs, each through an explicit lifecycle:
 *
 * <pre>
 *   (none) ─load─► LOADING ──► READY ─unload─► UNLOADING ──► (none)
 *                     │                                 ▲
 *                     └──► FAILED ─load─► LOADING       │
 *                             └──────unload─────────────┘
 * </pre>
 *
 * <p>Loading runs on the given executor (one model at a time when it is single-threaded), so a
 * slow or failing model never blocks the caller or takes the process down: a failure is kept as
 * the model's {@code FAILED} state with its reason. Only {@code READY} models are served. Unloading
 * stops new calls at once and closes the model when its calls in flight have ended, or after
 * {@code drainTimeout}. Every transition is published to the listeners (health, registration).
 *
 * <p>Thread-safe. Listeners run on the thread that made the transition; they must not block.
 */
public final class ModelHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

  /** Where a model is in its lifecycle. */
  public enum State {
    LOADING, READY, FAILED, UNLOADING;

    private static final Map<State, Set<State>> NEXT = Map.of(
        LOADING, Set.of(READY, FAILED),
        READY, Set.of(UNLOADING),
        FAILED, Set.of(LOADING, UNLOADING),
        UNLOADING, Set.of());

    boolean canBecome(State next) {
      return NEXT.get(this).contains(next);
    }
  }

  /**
   * A model to run.
   *
   * @param name the public model name
   * @param source what to load, for the {@link Loader} to interpret: a GGUF file's path, or
   *     {@code builtin:NAME} for a model shipped inside Modelway
   */
  public record ModelSpec(String name, String source) {
    public ModelSpec {
      requireNonNull(name, "name");
      requireNonNull(source, "source");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name: '' (expected: a model name)");
      }
    }
  }

  /** Loads one model; blocking, called on the load executor. */
  @FunctionalInterface
  public interface Loader {
    /**
     * @throws RuntimeException whose message says why the model cannot run
     */
    ModelRuntime load(ModelSpec spec);
  }

  /**
   * One model's state at one moment.
   *
   * @param error why the model failed to load; present only in {@code FAILED}
   * @param since when the model entered this state
   * @param inFlight calls being answered now
   * @param load the runtime's own report; {@link ModelRuntime.Load#IDLE} unless {@code READY}
   */
  public record Status(ModelSpec spec, State state, Optional<String> error, Instant since,
      int inFlight, ModelRuntime.Load load) {
    public String name() {
      return spec.name();
    }
  }

  private final Loader loader;
  private final Executor loadExecutor;
  private final Clock clock;
  private final Duration drainTimeout;
  private final Map<String, Entry> models = new ConcurrentHashMap<>();
  private final List<Consumer<Status>> listeners = new CopyOnWriteArrayList<>();

  /**
   * @param loadExecutor runs the blocking loads and closes
   * @param drainTimeout how long an unloading model waits for its calls in flight to end
   */
  public ModelHost(Loader loader, Executor loadExecutor, Clock clock, Duration drainTimeout) {
    this.loader = requireNonNull(loader, "loader");
    this.loadExecutor = requireNonNull(loadExecutor, "loadExecutor");
    this.clock = requireNonNull(clock, "clock");
    this.drainTimeout = requireNonNull(drainTimeout, "drainTimeout");
  }

  /** A host with no models and nothing to load them with: for roles that run none. */
  public static ModelHost none() {
    return new ModelHost(spec -> {
      throw new UnsupportedOperationException("this process runs no models");
    }, Runnable::run, Clock.systemUTC(), Duration.ZERO);
  }

  /** Calls {@code listener} on every transition of every model, from now on. */
  public void addListener(Consumer<Status> listener) {
    listeners.add(requireNonNull(listener, "listener"));
  }

  /**
   * Starts loading {@code spec}; a model that failed before is loaded again.
   *
   * @return completes with the model's status once loaded ({@code READY}) or failed ({@code
   *     FAILED}); never completes exceptionally
   * @throws IllegalStateException when a model of that name is loading, ready or unloading
   */
  public CompletableFuture<Status> load(ModelSpec spec) {
    requireNonNull(spec, "spec");
    Entry entry = new Entry(spec);
    Entry existing = models.putIfAbsent(spec.name(), entry);
    if (existing != null) {
      if (existing.state() != State.FAILED) {
        throw new IllegalStateException("model '" + spec.name() + "' is already "
            + existing.state().name().toLowerCase(java.util.Locale.ROOT)
            + " (expected: unload it first)");
      }
      if (!models.replace(spec.name(), existing, entry)) {
        throw new IllegalStateException("model '" + spec.name() + "' changed meanwhile; try again");
      }
    }
    publish(entry.current());
    CompletableFuture<Status> loaded = new CompletableFuture<>();
    loadExecutor.execute(() -> {
      long started = System.nanoTime();
      log.info("Loading model '{}' from {} ...", spec.name(), spec.source());
      ModelRuntime runtime;
      try {
        runtime = requireNonNull(loader.load(spec), "loader returned null");
      } catch (RuntimeException | LinkageError e) {
        String reason = e.getMessage() != null ? e.getMessage() : e.toString();
        log.error("Model '{}' failed to load and is not served: {}", spec.name(), reason);
        loaded.complete(entry.fail(reason));
        return;
      }
      if (!entry.ready(runtime)) { // unloaded or the host closed while loading
        runtime.close();
        loaded.complete(entry.current());
        return;
      }
      log.info("Model '{}' loaded in {} ms", spec.name(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      loaded.complete(entry.current());
    });
    return loaded;
  }

  /**
   * Stops serving {@code name} at once and frees it once its calls in flight end (or the drain
   * timeout passes).
   *
   * @return completes when the model is gone
   * @throws NoSuchElementException when no model has that name
   * @throws IllegalStateException when the model is loading (unload it once it is ready)
   */
  public CompletableFuture<Void> unload(String name) {
    requireNonNull(name, "name");
    Entry entry = models.get(name);
    if (entry == null) {
      throw new NoSuchElementException("no model '" + name + "' in this process");
    }
    return entry.unload();
  }

  /** The backend of {@code name} when it is ready to serve, counting its calls in flight. */
  public Optional<Backend> backend(String name) {
    Entry entry = models.get(name);
    return entry != null && entry.state() == State.READY
        ? Optional.of(entry.tracked)
        : Optional.empty();
  }

  /** The token counter of {@code name} when it is ready and counts with its own tokenizer. */
  public Optional<TokenCounter> tokenCounter(String name) {
    Entry entry = models.get(name);
    if (entry == null) {
      return Optional.empty();
    }
    Entry.Snapshot now = entry.snapshot.get();
    return now.state() == State.READY && now.runtime() instanceof TokenCounter counter
        ? Optional.of(counter) : Optional.empty();
  }

  /** Every model's status, by name. */
  public List<Status> statuses() {
    List<Status> all = new ArrayList<>();
    models.values().forEach(entry -> all.add(entry.current()));
    all.sort(java.util.Comparator.comparing(Status::name));
    return all;
  }

  /** The status of {@code name}, if this process has such a model. */
  public Optional<Status> status(String name) {
    Entry entry = models.get(name);
    return entry == null ? Optional.empty() : Optional.of(entry.current());
  }

  /** Whether no model is loading: every model asked for is either ready or failed. */
  public boolean settled() {
    return models.values().stream().noneMatch(entry -> entry.state() == State.LOADING);
  }

  /** Closes every model at once, calls in flight or not. */
  @Override
  public void close() {
    for (Entry entry : models.values()) {
      entry.closeNow();
    }
    models.clear();
  }

  private void publish(Status status) {
    for (Consumer<Status> listener : listeners) {
      try {
        listener.accept(status);
      } catch (RuntimeException e) {
        log.warn("A model status listener failed: {}", e.toString());
      }
    }
  }

  /** One model: its state, its runtime once loaded, and its calls in flight. */
  private final class Entry {
    private record Snapshot(State state, Optional<String> error, Instant since,
        @Nullable ModelRuntime runtime) {}

    final ModelSpec spec;
    final AtomicReference<Snapshot> snapshot;
    final AtomicInteger inFlight = new AtomicInteger();
    final CompletableFuture<Void> gone = new CompletableFuture<>();
    final Backend tracked = new Tracked();

    Entry(ModelSpec spec) {
      this.spec = spec;
      this.snapshot = new AtomicReference<>(
          new Snapshot(State.LOADING, Optional.empty(), clock.instant(), null));
    }

    State state() {
      return snapshot.get().state();
    }

    Status current() {
      Snapshot s = snapshot.get();
      ModelRuntime.Load load = s.state() == State.READY && s.runtime() != null
          ? s.runtime().load()
          : ModelRuntime.Load.IDLE;
      return new Status(spec, s.state(), s.error(), s.since(), inFlight.get(), load);
    }

    /** Moves to {@code next} if allowed from the current state; publishes the change. */
    private boolean become(State next, Optional<String> error, @Nullable ModelRuntime runtime) {
      while (true) {
        Snapshot now = snapshot.get();
        if (!now.state().canBecome(next)) {
          return false;
        }
        Snapshot then = new Snapshot(next, error, clock.instant(),
            runtime != null ? runtime : now.runtime());
        if (snapshot.compareAndSet(now, then)) {
          publish(current());
          return true;
        }
      }
    }

    boolean ready(ModelRuntime runtime) {
      return models.get(spec.name()) == this && become(State.READY, Optional.empty(), runtime);
    }

    Status fail(String reason) {
      become(State.FAILED, Optional.of(reason), null);
      return current();
    }

    CompletableFuture<Void> unload() {
      State state = state();
      if (state == State.LOADING) {
        throw new IllegalStateException("model '" + spec.name() + "' is still loading"
            + " (expected: unload it once it is ready or failed)");
      }
      if (become(State.UNLOADING, Optional.empty(), null)) {
        log.info("Unloading model '{}' ({} calls in flight) ...", spec.name(), inFlight.get());
        if (inFlight.get() == 0) {
          finish();
        } else {
          CompletableFuture.delayedExecutor(drainTimeout.toNanos(), TimeUnit.NANOSECONDS,
              loadExecutor).execute(this::finish);
        }
      }
      return gone;
    }

    /** Called when a call ends: the last one out of an unloading model closes it. */
    void callEnded() {
      if (inFlight.decrementAndGet() == 0 && state() == State.UNLOADING) {
        finish();
      }
    }

    private final AtomicBoolean finished = new AtomicBoolean();

    private void finish() {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      loadExecutor.execute(() -> {
        models.remove(spec.name(), this);
        ModelRuntime runtime = snapshot.get().runtime();
        if (runtime != null) {
          runtime.close();
        }
        log.info("Model '{}' unloaded", spec.name());
        gone.complete(null);
      });
    }

    void closeNow() {
      ModelRuntime runtime = snapshot.getAndUpdate(
          s -> new Snapshot(State.UNLOADING, Optional.empty(), s.since(), null)).runtime();
      if (runtime != null && finished.compareAndSet(false, true)) {
        runtime.close();
      }
      gone.complete(null);
    }

    /** The model's backend as served: counts each call from its start to its body's end. */
    private final class Tracked implements Backend {
      @Override
      public String name() {
        return spec.name();
      }

      @Override
      public Mono<BackendResponse> send(BackendCall call) {
        return Mono.defer(() -> {
          Snapshot s = snapshot.get();
          if (s.state() != State.READY || s.runtime() == null) {
            return Mono.error(new OpenAiException(503, "service_unavailable", "Model '"
                + spec.name() + "' is " + s.state().name().toLowerCase(java.util.Locale.ROOT)
                + " and takes no new calls.", null, "model_unavailable"));
          }
          inFlight.incrementAndGet();
          AtomicBoolean ended = new AtomicBoolean();
          Runnable end = () -> {
            if (ended.compareAndSet(false, true)) {
              callEnded();
            }
          };
          return s.runtime().send(call)
              .map(answer -> new BackendResponse(answer.status(), answer.contentType(),
                  answer.contentLength(), answer.body().doFinally(signal -> end.run())))
              .doOnError(e -> end.run())
              .doOnCancel(end);
        });
      }
    }
  }
}
