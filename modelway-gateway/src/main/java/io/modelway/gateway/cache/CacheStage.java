package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The Cache stage of the request path: keys a request, answers it from the cache when it can,
 * makes identical requests in flight share one model call, and keeps the model's answer.
 *
 * <p>A request's {@code Cache-Control} header is honoured as HTTP caches do: {@code no-cache}
 * skips reading (the model is called, and its answer is kept), {@code no-store} skips keeping
 * the answer. Only complete answers with status 200 are kept, and none larger than an eighth of
 * the model's {@code max-size}. Thread-safe.
 */
public final class CacheStage {
  /** The response header that says how the cache answered: {@code hit}, {@code miss}, {@code semantic-hit}. */
  public static final String RESULT_HEADER = "x-modelway-cache";
  /** The response header naming the entry's hash, as a purge of one entry takes it. */
  public static final String KEY_HEADER = "x-modelway-cache-key";
  /** The response header with a semantic hit's similarity, such as {@code 0.9312}. */
  public static final String SIMILARITY_HEADER = "x-modelway-cache-similarity";

  /**
   * An answer found for a request: kept for this very request ({@code similarity} empty) or for
   * one that means the same.
   */
  public record Found(byte[] answer, OptionalDouble similarity) {}

  private final boolean enabled;
  private final ResponseCache store;
  private final Optional<SemanticCache> semantic;
  private final Function<String, String> namespaces;
  private final Function<Principal, CachePolicy> policies;
  private final java.time.Clock clock;
  private final SingleFlight flights = new SingleFlight();
  private final MeterRegistry meters;
  private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();

  /**
   * @param namespaces a tenant's cache namespace, by tenant id
   * @param policies what the caller's plan says of the cache
   */
  public CacheStage(ResponseCache store, Optional<SemanticCache> semantic,
      Function<String, String> namespaces, Function<Principal, CachePolicy> policies,
      java.time.Clock clock, MeterRegistry meters) {
    this(store, semantic, namespaces, policies, clock, meters, true);
  }

  private CacheStage(ResponseCache store, Optional<SemanticCache> semantic,
      Function<String, String> namespaces, Function<Principal, CachePolicy> policies,
      java.time.Clock clock, MeterRegistry meters, boolean enabled) {
    this.enabled = enabled;
    this.clock = requireNonNull(clock, "clock");
    this.policies = requireNonNull(policies, "policies");
    this.store = requireNonNull(store, "store");
    this.semantic = requireNonNull(semantic, "semantic");
    this.namespaces = requireNonNull(namespaces, "namespaces");
    this.meters = requireNonNull(meters, "meters");
    Gauge.builder("modelway.cache.bytes", store, ResponseCache::bytesHeld)
        .description("Bytes of cached answers held in this gateway's memory")
        .baseUnit("bytes")
        .register(meters);
  }

  /** A stage that caches nothing: for workers, which leave caching to the gateway. */
  public static CacheStage off(MeterRegistry meters) {
    return new CacheStage(new LocalResponseCache(System::nanoTime), Optional.empty(),
        tenant -> tenant, principal -> CachePolicy.NONE, java.time.Clock.systemUTC(), meters,
        false);
  }

  public ResponseCache store() {
    return store;
  }

  /**
   * The cache's part in one request, or empty when the request is not cached: its model's cache
   * is off, it is not deterministic where only those are cached, or it says both {@code
   * no-cache} and {@code no-store}.
   *
   * @param cacheControl the request's {@code Cache-Control} header, if any
   */
  public Optional<Call> open(Principal principal, Catalog current, Catalog.Route route,
      InspectedRequest inspected, byte[] body, @Nullable String cacheControl) {
    Endpoint endpoint = inspected.endpoint();
    if (!enabled) {
      return Optional.empty();
    }
    CachePolicy policy = policies.apply(principal);
    ModelwayConfig.Cache settings = policy.applyTo(current.cache(route.model()));
    boolean read = true;
    boolean write = true;
    if (cacheControl != null) {
      String directives = cacheControl.toLowerCase(Locale.ROOT);
      read = !directives.contains("no-cache");
      write = !directives.contains("no-store");
    }
    if (!read && !write) {
      return Optional.empty();
    }
    boolean canRead = read;
    boolean canWrite = write;
    return RequestKeys.of(settings.mode(), namespaces.apply(principal.tenantId()), route.model(),
            route.upstreamModel(), endpoint, body, inspected.deterministic())
        .map(key -> new Call(key, settings, policy, canRead, canWrite, semantic.flatMap(
            s -> s.probe(key, settings.semantic(), endpoint, body))));
  }

  /** Drops what {@code purge} names, in Redis and in this gateway. */
  public CompletableFuture<Long> purge(ResponseCache.Purge purge) {
    semantic.ifPresent(s -> s.purge(purge));
    return store.purge(purge);
  }

  /** Where entries are kept now. */
  public String mode() {
    return store.mode();
  }

  private void count(String result, String model) {
    counters.computeIfAbsent(result + '\0' + model, k -> Counter.builder("modelway.cache.requests")
        .description("Cacheable requests, by how the cache answered them")
        .tag("result", result)
        .tag("model", model)
        .register(meters)).increment();
  }

  /**
   * One cacheable request. {@link #lookup} first; then, when it found nothing, the model's
   * answer goes to {@link #answered} or {@link #streamed}, and however the call ends, {@link
   * #ended} — which a follower waiting on this call relies on.
   */
  public final class Call {
    private final CacheKey key;
    private final ModelwayConfig.Cache settings;
    private final boolean read;
    private final boolean write;
    private final CachePolicy policy;
    private final Optional<SemanticCache.Probe> probe;
    private final AtomicBoolean kept = new AtomicBoolean();
    private SingleFlight.@Nullable Seat seat;
    private Answers.@Nullable Assembler assembler;
    private volatile byte @Nullable [] stale;

    private Call(CacheKey key, ModelwayConfig.Cache settings, CachePolicy policy, boolean read,
        boolean write, Optional<SemanticCache.Probe> probe) {
      this.key = key;
      this.settings = settings;
      this.policy = policy;
      this.read = read;
      this.write = write;
      this.probe = probe;
    }

    public CacheKey key() {
      return key;
    }

    /**
     * An answer past its TTL but kept for {@code stale-if-error}, found by {@link #lookup}: to
     * serve only when the model and its fallbacks failed to answer.
     */
    public Optional<byte[]> stale() {
      byte[] kept = stale;
      return kept == null || !read ? Optional.empty() : Optional.of(kept);
    }

    /** Counts a stale answer served in place of the model's. */
    public void servedStale() {
      count("stale", key.model());
    }

    /** What the caller's plan charges for an answer from the cache: its price, if any. */
    public CachePolicy policy() {
      return policy;
    }

    /**
     * The cached answer, or the answer of an identical request in flight; empty when the model
     * is to be called. Never fails.
     */
    public CompletableFuture<Optional<Found>> lookup() {
      if (!read) {
        count("miss", key.model());
        return CompletableFuture.completedFuture(Optional.empty());
      }
      SingleFlight.Seat joined = flights.join(key);
      if (!joined.leads()) {
        return joined.answer().thenApply(answer -> {
          count(answer.isPresent() ? "coalesced" : "miss", key.model());
          return answer.map(bytes -> new Found(bytes, OptionalDouble.empty()));
        });
      }
      seat = joined;
      return store.get(key).thenCompose(stored -> {
        Optional<byte[]> found = Optional.empty();
        if (stored.isPresent()) {
          if (stored.get().freshAt(clock.millis(), settings.ttl())) {
            found = Optional.of(stored.get().answer());
          } else {
            stale = stored.get().answer(); // kept for stale-if-error: served only if the model fails
          }
        }
        if (found.isPresent()) {
          joined.land(found);
          count("hit", key.model());
          return CompletableFuture.completedFuture(
              Optional.of(new Found(found.get(), OptionalDouble.empty())));
        }
        if (probe.isEmpty()) {
          count("miss", key.model());
          return CompletableFuture.completedFuture(Optional.empty());
        }
        return semanticLookup(probe.get(), joined);
      });
    }

    /** An answer to a question that means the same, kept under that question's key. */
    private CompletableFuture<Optional<Found>> semanticLookup(SemanticCache.Probe question,
        SingleFlight.Seat joined) {
      return question.lookup().thenCompose(match -> {
        if (match.isEmpty()) {
          count("miss", key.model());
          return CompletableFuture.completedFuture(Optional.<Found>empty());
        }
        CacheKey near = new CacheKey(key.namespace(), key.model(), match.get().entry());
        return store.get(near).thenApply(stored -> {
          Optional<byte[]> answer = stored
              .filter(s -> s.freshAt(clock.millis(), settings.ttl())).map(ResponseCache.Stored::answer);
          if (answer.isEmpty()) { // expired or purged since
            semantic.ifPresent(s -> s.forget(near.hash()));
            count("miss", key.model());
            return Optional.<Found>empty();
          }
          joined.land(answer);
          count("semantic-hit", key.model());
          return Optional.of(new Found(answer.get(), OptionalDouble.of(match.get().similarity())));
        });
      });
    }

    /** The model's whole answer with status {@code status}, before it goes to the client. */
    public void answered(int status, byte[] whole) {
      if (status != 200) {
        ended();
        return;
      }
      keep(whole);
    }

    /** Some events of the model's streamed answer (status 200), as they go to the client. */
    public void streamed(Endpoint endpoint, byte[] events) {
      Answers.Assembler now = assembler;
      if (now == null) {
        now = assembler = new Answers.Assembler(endpoint);
      }
      now.feed(events);
    }

    /** The streamed answer has ended: kept when it ended well. */
    public void streamEnded() {
      Answers.Assembler now = assembler;
      Optional<byte[]> whole = now == null ? Optional.empty() : now.whole();
      if (whole.isPresent()) {
        keep(whole.get());
      } else {
        ended();
      }
    }

    private void keep(byte[] whole) {
      if (!kept.compareAndSet(false, true)) {
        return;
      }
      if (write && whole.length <= settings.maxSize().toBytes() / 8) {
        store.put(key, whole, clock.millis(), settings);
        probe.ifPresent(question -> question.kept(key.hash()));
      }
      SingleFlight.Seat leader = seat;
      if (leader != null) {
        leader.land(Optional.of(whole));
      }
    }

    /** The call ended, however; releases any request waiting on it. Idempotent. */
    public void ended() {
      SingleFlight.Seat leader = seat;
      if (leader != null) {
        leader.land(Optional.empty());
      }
    }
  }
}
