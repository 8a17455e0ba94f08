package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.backend.Backend;
import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.backend.LoopClients;
import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.backend.Timeouts;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.gateway.registry.Instance;
import io.modelway.gateway.registry.Registry;
import io.modelway.gateway.resilience.Resilient;
import io.modelway.gateway.scheduling.BoundedBackend;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * The pools of instances that serve each model, and each instance's live state.
 *
 * <p>A model's pool is its configured backends (with their weights) plus every registered worker
 * that has a model of that name ready (weight 1), read afresh for every call, so pools follow
 * config reloads and the registry as they happen. A model that only workers serve has a pool of
 * workers. A pool of one configured backend is called directly, as before pools existed: with
 * nowhere else to go, ejecting it would only turn its errors into 503s.
 *
 * <p>A call goes, in this order: to an instance on trial (its breaker half-open, a permit free),
 * so that a recovered instance is re-admitted; else to the instance the model's {@link Policy}
 * chooses among those that {@link InstanceHealth#admits admit} calls; and when none does (every
 * instance ejected or failing its probe), among all of them, since a guess beats a certain 503.
 * A call that cannot connect has not reached the instance, so it goes to another one (each
 * instance tried at most once) and the unreachable one is ejected. Other failures are retried on
 * instances not tried yet, and cut streams continued, by {@link Resilient}, within the model's
 * {@link ModelwayConfig.Resilience}. A model with fallbacks fails at once (503) when none of its
 * instances is in service, so that its fallback answers instead of a guess.
 *
 * <p>Each instance has one {@link InstanceStats} and one {@link InstanceHealth}, shared by every
 * model it serves, kept while it is in some pool. Every {@link #TICK} the prober thread probes
 * the instances that share a pool with another ({@link ModelwayConfig.HealthCheck}; workers are
 * probed at {@code /v1/models} with the cluster secret), ends ejections that are over, and
 * forgets instances that left every pool. Probes are non-blocking HTTP calls on the shared
 * client; {@link InstanceHealth} widens their timeouts by the probes' recent latency. Metrics per
 * instance: {@code modelway.routing.in.flight},
 * {@code modelway.routing.breaker.state} (0 closed, 1 half-open, 2 open),
 * {@code modelway.routing.calls} (calls sent to each instance), {@code
 * modelway.routing.ejections} (by {@code cause}: {@code probe} or {@code calls}) and {@code
 * modelway.routing.probe.failures}.
 *
 * <p>An instance may have a limit of calls at once: a configured backend's {@code
 * max-concurrent}, a worker's reported slots. A pool in which some instance has one is a {@link
 * BoundedBackend}: the Schedule stage takes a slot ({@link BoundedBackend#tryReserve}) on an
 * instance with room, chosen by the policy among those, before sending, and a connect failure is
 * retried only on instances with room. Each call that ends runs the {@link #onSlotFreed} hook.
 *
 * <p>Thread-safe.
 */
public final class InstancePools implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InstancePools.class);

  /**
   * A call to a worker: workers are near, so a connection that takes 2 s is a dead worker; a
   * generation may run long, so the total is the same as for any backend.
   */
  static final Timeouts WORKER_TIMEOUTS = new Timeouts(
      Duration.ofSeconds(2), Timeouts.DEFAULT.firstByte(), Timeouts.DEFAULT.total());

  /** How often probes are started and ejections reviewed. */
  static final Duration TICK = Duration.ofMillis(200);

  private final Supplier<Catalog> catalog;
  private final Optional<Registry> registry;
  private final LoopClients clients;
  private final @Nullable String clusterSecret;
  private final Clock clock;
  private final LongSupplier ticker;
  private final RandomGenerator random;
  private final MeterRegistry meters;
  private final ConcurrentMap<String, Member> members = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, ModelRouting> routings = new ConcurrentHashMap<>();
  private @Nullable ScheduledExecutorService prober;
  private volatile boolean closed;
  private volatile Runnable slotFreed = () -> { };

  /**
   * @param catalog the catalog in force
   * @param clusterSecret sent to workers as their API key, so they serve only the gateway
   * @param ticker a monotonic clock in nanoseconds, for latencies
   * @param random for policies and ramp-ups, thread-safe: each thread's
   *     {@code ThreadLocalRandom} in production
   */
  public InstancePools(Supplier<Catalog> catalog, Optional<Registry> registry, LoopClients clients,
      Optional<String> clusterSecret, Clock clock, LongSupplier ticker, RandomGenerator random,
      MeterRegistry meters) {
    this.catalog = requireNonNull(catalog, "catalog");
    this.registry = requireNonNull(registry, "registry");
    this.clients = requireNonNull(clients, "clients");
    this.clusterSecret = requireNonNull(clusterSecret, "clusterSecret").orElse(null);
    this.clock = requireNonNull(clock, "clock");
    this.ticker = requireNonNull(ticker, "ticker");
    this.random = requireNonNull(random, "random");
    this.meters = requireNonNull(meters, "meters");
  }

  /** Runs {@code hook} each time a call to an instance of a pool ends (so a queue can go on). */
  public void onSlotFreed(Runnable hook) {
    this.slotFreed = requireNonNull(hook, "hook");
  }

  /** Starts the prober thread. Idempotent. */
  public synchronized void start() {
    if (prober != null) {
      return;
    }
    prober = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "routing-health");
      t.setDaemon(true);
      return t;
    });
    prober.scheduleWithFixedDelay(() -> {
      try {
        tick();
      } catch (RuntimeException e) {
        log.error("Health tick failed", e);
      }
    }, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (prober != null) {
      prober.shutdownNow();
      prober = null;
    }
  }

  /**
   * The backend of a configured model: its one configured backend when nothing else serves it,
   * else its pool.
   *
   * @throws OpenAiException 503 when no instance serves it (no backend configured, no worker ready)
   */
  public Backend backendFor(Catalog.Pool pool) {
    requireNonNull(pool, "pool");
    PoolSpec spec = PoolSpec.of(pool);
    Optional<OpenAiHttpBackend> alone = alone(spec);
    if (alone.isPresent()) {
      return pool.resilience().deadlines().equals(ModelwayConfig.Deadlines.NONE) ? alone.get()
          : Resilient.deadlined(alone.get(), pool.resilience().deadlines());
    }
    if (pool.members().isEmpty()
        && registry.map(r -> r.serving(pool.model()).isEmpty()).orElse(true)) {
      throw new OpenAiException(503, "service_unavailable",
          "No instance of model '" + pool.model() + "' is ready right now.", null,
          "model_unavailable");
    }
    return new PoolBackend(spec);
  }

  /**
   * The one configured backend of {@code spec}'s pool, when no other instance is in it and it has
   * no limit of calls at once.
   */
  private Optional<OpenAiHttpBackend> alone(PoolSpec spec) {
    OpenAiHttpBackend only = null;
    for (Catalog.Member m : spec.configured()) {
      if (m.weight() > 0) {
        if (only != null) {
          return Optional.empty();
        }
        only = m.client();
      }
    }
    if (only == null || spec.configured().stream().anyMatch(m -> m.maxConcurrent() > 0)
        || registry.map(r -> !r.serving(spec.model()).isEmpty()).orElse(false)) {
      return Optional.empty();
    }
    return Optional.of(only);
  }

  /** The backend of a model that only registered workers serve, or empty when none has it ready. */
  public Optional<Backend> workersFor(String model) {
    requireNonNull(model, "model");
    if (registry.isEmpty() || registry.get().serving(model).isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new PoolBackend(PoolSpec.workers(model)));
  }

  /**
   * A model's pool.
   *
   * @param configured its configured backends
   * @param name the backend name its calls are reported under
   * @param fallbacks whether the model has fallbacks: then a pool whose every instance is out
   *     fails at once (503) rather than trying them anyway, so the fallback answers
   */
  record PoolSpec(String model, String upstreamModel, List<Catalog.Member> configured,
      ModelwayConfig.Routing routing, ModelwayConfig.Scheduling scheduling, String name,
      ModelwayConfig.Resilience resilience, boolean fallbacks) {
    static PoolSpec of(Catalog.Pool pool) {
      return new PoolSpec(pool.model(), pool.upstreamModel(), pool.members(), pool.routing(),
          pool.scheduling(), "pool", pool.resilience(), !pool.fallbacks().isEmpty());
    }

    /** The pool of a model that only registered workers serve: every default. */
    static PoolSpec workers(String model) {
      return new PoolSpec(model, model, List.of(), ModelwayConfig.Routing.DEFAULT,
          ModelwayConfig.Scheduling.DEFAULT, "workers", ModelwayConfig.Resilience.DEFAULT, false);
    }
  }

  /**
   * One instance of a pool at one moment: its state, the backend to call, its weight here.
   *
   * @param limit the most calls it takes at once; 0: no limit
   */
  record Entry(Member member, OpenAiHttpBackend client, int weight, int queued, boolean worker,
      int limit) {
    /** Whether it takes another call that may not use {@code heldBack} of its slots. */
    boolean hasRoom(int heldBack) {
      return limit == 0 || member.stats.inFlight() < limit(heldBack);
    }

    /** Its limit for a call that may not use {@code heldBack} of its slots: at least 1. */
    int limit(int heldBack) {
      return limit == 0 ? 0 : Math.max(1, limit - heldBack);
    }
  }

  /** A model's policy, kept while its routing config is the same. */
  private record ModelRouting(ModelwayConfig.Routing routing, Policy policy,
      ConcurrentMap<String, Counter> calls) {}

  /** One instance: its stats and health, shared by every pool it is in. */
  static final class Member {
    final String key;
    final String label;
    final InstanceStats stats;
    final InstanceHealth health;
    final @Nullable OpenAiHttpBackend workerClient;
    final @Nullable String workerId;
    final AtomicBoolean probing = new AtomicBoolean();
    final List<Meter> meters = new ArrayList<>();
    volatile long nextProbeNanos;

    Member(String key, String label, InstanceStats stats, InstanceHealth health,
        @Nullable OpenAiHttpBackend workerClient, @Nullable String workerId) {
      this.key = key;
      this.label = label;
      this.stats = stats;
      this.health = health;
      this.workerClient = workerClient;
      this.workerId = workerId;
    }
  }

  /** The instances of {@code spec}'s pool now, weight above 0: configured ones, then workers by id. */
  List<Entry> entries(PoolSpec spec) {
    List<Entry> entries = new ArrayList<>(spec.configured().size() + 2);
    for (Catalog.Member m : spec.configured()) {
      if (m.weight() > 0) {
        entries.add(new Entry(configuredMember(m), m.client(), m.weight(), 0, false,
            m.maxConcurrent()));
      }
    }
    if (registry.isPresent()) {
      List<Instance> serving = new ArrayList<>(registry.get().serving(spec.model()));
      serving.sort(Comparator.comparing(Instance::id));
      for (Instance instance : serving) {
        Member member = workerMember(instance);
        entries.add(new Entry(member, requireNonNull(member.workerClient), 1,
            instance.load().queued(), true, Math.max(0, instance.load().slots())));
      }
    }
    return entries;
  }

  private Member configuredMember(Catalog.Member m) {
    String key = "backend:" + m.backend() + "@" + m.client().baseUrl();
    Member member = members.get(key);
    return member != null ? member : members.computeIfAbsent(key,
        k -> register(new Member(k, m.backend(), new InstanceStats(ticker),
            new InstanceHealth("backend " + m.backend(), clock), null, null), "backend"));
  }

  private Member workerMember(Instance instance) {
    String key = "worker:" + instance.id() + "@" + instance.address();
    Member member = members.get(key);
    return member != null ? member : members.computeIfAbsent(key, k -> register(new Member(k,
        instance.id(), new InstanceStats(ticker),
        new InstanceHealth("worker " + instance.id(), clock),
        new OpenAiHttpBackend("worker " + instance.id(), instance.address().resolve("/v1"),
            clusterSecret, Map.of(), WORKER_TIMEOUTS, clients), instance.id()), "worker"));
  }

  private Member register(Member member, String kind) {
    member.meters.add(Gauge.builder("modelway.routing.in.flight", member.stats,
            InstanceStats::inFlight)
        .description("Calls in flight from this gateway to an instance")
        .tag("instance", member.label).tag("kind", kind).register(meters));
    member.meters.add(Gauge.builder("modelway.routing.breaker.state", member.health,
            h -> breakerLevel(h.state()))
        .description("An instance's circuit breaker: 0 closed, 1 half-open (on trial), 2 open (ejected)")
        .tag("instance", member.label).tag("kind", kind).register(meters));
    member.meters.add(FunctionCounter.builder("modelway.routing.ejections", member.health,
            InstanceHealth::probeEjections)
        .description("Times an instance was taken out of rotation, by cause: probe (its health"
            + " probes failed) or calls (its breaker opened)")
        .tag("instance", member.label).tag("kind", kind).tag("cause", "probe").register(meters));
    member.meters.add(FunctionCounter.builder("modelway.routing.ejections", member.health,
            InstanceHealth::callEjections)
        .description("Times an instance was taken out of rotation, by cause: probe (its health"
            + " probes failed) or calls (its breaker opened)")
        .tag("instance", member.label).tag("kind", kind).tag("cause", "calls").register(meters));
    member.meters.add(FunctionCounter.builder("modelway.routing.probe.failures", member.health,
            InstanceHealth::probeFailures)
        .description("Health probes of an instance that failed, whether or not they took it out")
        .tag("instance", member.label).tag("kind", kind).register(meters));
    return member;
  }

  private static int breakerLevel(CircuitBreaker.State state) {
    return switch (state) {
      case CLOSED, DISABLED, METRICS_ONLY -> 0;
      case HALF_OPEN -> 1;
      case OPEN, FORCED_OPEN -> 2;
    };
  }

  private ModelRouting routing(PoolSpec spec) {
    ModelRouting current = routings.get(spec.model());
    if (current != null && current.routing().equals(spec.routing())) {
      return current;
    }
    return routings.compute(spec.model(), (model, old) ->
        old != null && old.routing().equals(spec.routing()) ? old
            : new ModelRouting(spec.routing(), Policy.create(spec.routing(), random),
                new ConcurrentHashMap<>()));
  }

  /** A model's pool as a backend: each call to the instance that its policy and health allow. */
  private final class PoolBackend implements BoundedBackend {
    private final PoolSpec spec;

    PoolBackend(PoolSpec spec) {
      this.spec = spec;
    }

    @Override
    public String name() {
      return spec.name();
    }

    @Override
    public String model() {
      return spec.model();
    }

    @Override
    public ModelwayConfig.Scheduling scheduling() {
      return spec.scheduling();
    }

    @Override
    public boolean bounded() {
      for (Catalog.Member m : spec.configured()) {
        if (m.maxConcurrent() > 0 && m.weight() > 0) {
          return true;
        }
      }
      if (registry.isPresent()) {
        for (Instance instance : registry.get().serving(spec.model())) {
          if (instance.load().slots() > 0) {
            return true;
          }
        }
      }
      return false;
    }

    @Override
    public Mono<BackendResponse> send(BackendCall call) {
      requireNonNull(call, "call");
      RouteRequest request = RouteRequest.of(call, spec.routing().sessionHeader());
      return resilient(call, request, null, false);
    }

    /**
     * {@code call} with the model's retries, deadlines and mid-stream failover ({@link
     * Resilient}), its first attempt on {@code first} if given (a slot the schedule took), each
     * next one on an instance it was not sent to yet.
     */
    Mono<BackendResponse> resilient(BackendCall call, RouteRequest request, @Nullable Taken first,
        boolean bounded) {
      Set<String> tried = ConcurrentHashMap.newKeySet();
      AtomicReference<@Nullable Taken> reserved = new AtomicReference<>(first);
      return Resilient.send(call, spec.resilience(), random, next -> {
        Taken taken = reserved.getAndSet(null);
        return taken != null ? send(taken, next, request, tried, bounded)
            : attempt(next, request, tried, null, bounded);
      });
    }

    @Override
    public @Nullable Slot tryReserve(BackendCall call, int heldBack) {
      requireNonNull(call, "call");
      List<Entry> all = entries(spec);
      if (all.isEmpty()) {
        throw unavailable();
      }
      RouteRequest request = RouteRequest.of(call, spec.routing().sessionHeader());
      Taken taken = take(all, request, true, heldBack, true);
      return taken == null ? null : new PoolSlot(this, taken, call, request);
    }

    private OpenAiException unavailable() {
      return new OpenAiException(503, "service_unavailable",
          "No instance of model '" + spec.model() + "' is ready right now.", null,
          "model_unavailable");
    }

    /**
     * Picks an instance of {@code all} and starts a call on it: one on trial first, else the
     * policy's choice; with {@code bounded}, only among those with room. Null when none has room.
     */
    private @Nullable Taken take(List<Entry> all, RouteRequest request, boolean bounded,
        int heldBack, boolean first) {
      List<Entry> open = all;
      if (bounded) {
        open = new ArrayList<>(all.size());
        for (Entry e : all) {
          if (e.hasRoom(heldBack)) {
            open.add(e);
          }
        }
      }
      ModelRouting routing = routing(spec);
      while (!open.isEmpty()) {
        Entry chosen = null;
        boolean trial = false;
        for (Entry e : open) {
          if (e.member().health.tryTrial()) {
            chosen = e;
            trial = true;
            break;
          }
        }
        if (chosen == null) {
          chosen = choose(routing.policy(), request, open, first);
        }
        if (chosen.member().stats.tryBegin(bounded ? chosen.limit(heldBack) : 0)) {
          count(routing, chosen.member());
          return new Taken(chosen, trial);
        }
        if (trial) {
          chosen.member().health.releaseTrial();
        }
        open = new ArrayList<>(open);
        open.remove(chosen); // filled up by a racing call meanwhile
      }
      return null;
    }

    private Mono<BackendResponse> attempt(BackendCall call, RouteRequest request,
        Set<String> tried, @Nullable Throwable last, boolean bounded) {
      return Mono.defer(() -> {
        List<Entry> all = entries(spec);
        boolean first = tried.isEmpty();
        all.removeIf(e -> tried.contains(e.member().key));
        Taken taken = all.isEmpty() ? null : take(all, request, bounded, 0, first);
        if (taken == null) {
          return Mono.error(last != null ? last
              : first ? unavailable() : new Resilient.NoOtherInstance());
        }
        return send(taken, call, request, tried, bounded);
      });
    }

    /** Sends {@code call} to the instance {@code taken} began a call on; a connect failure moves on. */
    Mono<BackendResponse> send(Taken taken, BackendCall call, RouteRequest request,
        Set<String> tried, boolean bounded) {
      tried.add(taken.entry().member().key);
      return callOne(taken.entry(), taken.trial(), callFor(taken.entry(), call))
          .onErrorResume(e -> {
            if (!OpenAiHttpBackend.neverSent(e)) {
              return Mono.error(e);
            }
            return attempt(call, request, tried, e, bounded);
          });
    }

    private Entry choose(Policy policy, RouteRequest request, List<Entry> all, boolean first) {
      List<Entry> admitted = new ArrayList<>(all.size());
      for (Entry e : all) {
        if (e.member().health.admits(random)) {
          admitted.add(e);
        }
      }
      if (admitted.isEmpty() && spec.fallbacks()) {
        // Every instance is ejected or down and another model can answer: go there at once.
        throw first ? new OpenAiException(503, "service_unavailable", "Every instance of model '"
            + spec.model() + "' is out of service right now.", null, "model_unavailable")
            : new Resilient.NoOtherInstance();
      }
      if (admitted.isEmpty()) {
        admitted = all; // every instance is ejected or down: try them rather than fail for sure
      }
      if (admitted.size() == 1) {
        return admitted.get(0);
      }
      List<Candidate> candidates = new ArrayList<>(admitted.size());
      for (Entry e : admitted) {
        candidates.add(new Candidate(e.member().key, e.weight(), e.queued(), e.member().stats));
      }
      Candidate chosen = policy.choose(request, candidates);
      return admitted.get(candidates.indexOf(chosen));
    }

    private BackendCall callFor(Entry entry, BackendCall call) {
      if (!entry.worker() || spec.upstreamModel().equals(spec.model())) {
        return call;
      }
      // Workers know a model by its public name; configured backends by upstream-model.
      return call.withBody(InspectedRequest.inspect(call.endpoint(), call.body())
          .withModel(call.body(), spec.model()));
    }
  }

  /** A call begun on an instance ({@link InstanceStats#begin}), not sent yet. */
  private record Taken(Entry entry, boolean trial) {}

  /** A slot taken for one call: sent on once, or released. */
  private final class PoolSlot implements BoundedBackend.Slot {
    private static final int TAKEN = 0;
    private static final int SENT = 1;
    private static final int RELEASED = 2;

    private final PoolBackend pool;
    private final Taken taken;
    private final BackendCall call;
    private final RouteRequest request;
    private final AtomicInteger state = new AtomicInteger(TAKEN);

    PoolSlot(PoolBackend pool, Taken taken, BackendCall call, RouteRequest request) {
      this.pool = pool;
      this.taken = taken;
      this.call = call;
      this.request = request;
    }

    @Override
    public Mono<BackendResponse> send() {
      return Mono.defer(() -> state.compareAndSet(TAKEN, SENT)
          ? pool.resilient(call, request, taken, true)
          : Mono.error(new IllegalStateException("The slot was released or sent on already")));
    }

    @Override
    public void release() {
      if (state.compareAndSet(TAKEN, RELEASED)) {
        taken.entry().member().stats.end();
        if (taken.trial()) {
          taken.entry().member().health.releaseTrial();
        }
        slotFreed.run();
      }
    }
  }

  private void count(ModelRouting routing, Member member) {
    Counter counter = routing.calls().get(member.key);
    if (counter == null) {
      counter = routing.calls().computeIfAbsent(member.key, key -> Counter
          .builder("modelway.routing.calls")
          .description("Calls a model's pool sent to an instance")
          .tag("instance", member.label)
          .register(meters));
    }
    counter.increment();
  }

  /**
   * One call to one instance that {@link InstanceStats#begin began} on it, accounted for once
   * however it ends: in flight until then, its time to first byte, and its outcome for the
   * instance's health.
   */
  private Mono<BackendResponse> callOne(Entry entry, boolean trial, BackendCall call) {
    Member member = entry.member();
    long sent = ticker.getAsLong();
    AtomicBoolean ended = new AtomicBoolean();
    AtomicBoolean first = new AtomicBoolean();
    Runnable cancelled = () -> {
      if (ended.compareAndSet(false, true)) {
        member.stats.end();
        if (trial) {
          member.health.releaseTrial();
        }
        slotFreed.run();
      }
    };
    java.util.function.Consumer<@Nullable Throwable> outcome = failure -> {
      if (!ended.compareAndSet(false, true)) {
        return;
      }
      member.stats.end();
      long elapsed = ticker.getAsLong() - sent;
      if (failure == null || (failure instanceof OpenAiException oe && oe.status() < 500)) {
        member.health.onSuccess(elapsed);
      } else if (OpenAiHttpBackend.neverSent(failure)) {
        member.health.onUnreachable();
        if (member.workerId != null) {
          registry.ifPresent(r -> r.markUnreachable(member.workerId));
        }
        return; // this call is retried elsewhere first; queued calls go on at the next end or tick
      } else {
        member.health.onFailure(elapsed, failure);
      }
      slotFreed.run();
    };
    return entry.client().send(call)
        .map(answer -> new BackendResponse(answer.status(), answer.contentType(),
            answer.contentLength(), answer.body()
                .doOnNext(chunk -> {
                  if (first.compareAndSet(false, true)) {
                    member.stats.recordLatency(ticker.getAsLong() - sent);
                  }
                })
                .doOnComplete(() -> outcome.accept(null))
                .doOnError(outcome::accept)
                .doOnCancel(cancelled)))
        .doOnCancel(cancelled)
        .doOnError(outcome::accept);
  }

  /**
   * Probes the instances that share a pool with another, ends ejections that are over, and
   * forgets instances that are in no pool any more. Runs on the prober thread every
   * {@link #TICK}; only starts probes, which complete on the HTTP client's threads.
   */
  void tick() {
    Catalog current = catalog.get();
    Map<String, Probe> live = new HashMap<>();
    for (Catalog.Pool pool : current.pools()) {
      collect(PoolSpec.of(pool), live);
    }
    registry.ifPresent(r -> {
      Set<String> models = new HashSet<>();
      r.instances().forEach(i -> i.models().forEach(m -> models.add(m.id())));
      for (String model : models) {
        if (current.pool(model).isEmpty()) {
          collect(PoolSpec.workers(model), live);
        }
      }
    });
    long now = ticker.getAsLong();
    for (Member member : members.values()) {
      Probe probe = live.get(member.key);
      if (probe == null) {
        if (member.stats.inFlight() == 0 && members.remove(member.key, member)) {
          member.meters.forEach(meters::remove);
        }
        continue;
      }
      member.health.tick();
      if (!probe.shared()) {
        member.health.unprobed(); // alone in its pools: nothing to steer away from
        continue;
      }
      if (now - member.nextProbeNanos >= 0 && member.probing.compareAndSet(false, true)) {
        member.nextProbeNanos = now + probe.check().interval().toNanos();
        Duration timeout = member.health.probeTimeout(probe.check().timeout());
        Duration deadline = member.health.probeDeadline(probe.check().timeout());
        long sent = ticker.getAsLong();
        probe.client().probe(probe.check().path(), deadline)
            .subscribe(
                status -> member.health.probeAnswered(status < 500, ticker.getAsLong() - sent,
                    timeout),
                failure -> {
                  if (!closed) { // a probe cut short by the shutdown says nothing of the instance
                    member.health.probeUnanswered();
                    if (member.workerId != null && OpenAiHttpBackend.neverSent(failure)) {
                      // The registry lists it as unreachable, as a refused call would.
                      registry.ifPresent(r -> r.markUnreachable(member.workerId));
                    }
                  }
                  member.probing.set(false);
                },
                () -> member.probing.set(false));
      }
    }
    routings.keySet().removeIf(model -> current.pool(model).isEmpty()
        && registry.map(r -> r.serving(model).isEmpty()).orElse(true));
  }

  /** How to probe a member, and whether it shares some pool with another instance. */
  private record Probe(OpenAiHttpBackend client, ModelwayConfig.HealthCheck check, boolean shared) {}

  private void collect(PoolSpec spec, Map<String, Probe> live) {
    if (alone(spec).isPresent()) {
      return; // called directly, not through a pool
    }
    List<Entry> entries = entries(spec);
    boolean shared = entries.size() > 1;
    for (Entry e : entries) {
      Member member = e.member();
      OpenAiHttpBackend probeClient = e.client();
      ModelwayConfig.HealthCheck check = e.worker() ? ModelwayConfig.HealthCheck.DEFAULT
          : spec.configured().stream().filter(m -> m.client() == e.client()).findFirst()
              .map(Catalog.Member::healthCheck).orElse(ModelwayConfig.HealthCheck.DEFAULT);
      live.merge(member.key, new Probe(probeClient, check, shared),
          (a, b) -> new Probe(a.client(), a.check(), a.shared() || b.shared()));
    }
  }

  /** The health of the instance with {@code key} (see {@link Entry}), for tests and the admin view. */
  Optional<Member> member(String key) {
    return Optional.ofNullable(members.get(key));
  }
}
