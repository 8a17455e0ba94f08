package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.TokensInheritanceStrategy;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.distributed.proxy.optimization.Optimizations;
import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Admit stage's counters: per-minute windows as Bucket4j buckets, and calls in flight.
 *
 * <p>A window is a bucket of {@code limit} tokens refilled whole once a minute after its first
 * use ({@code refillIntervally}): at most {@code limit} are admitted in any window, never more,
 * which is what a client reading {@code x-ratelimit-reset-*} expects. Buckets not touched for a
 * while are forgotten (full again). A bucket's key names its holder, its plan and what it
 * counts, so a holder moved to another plan starts with fresh counters, and a plan's new revision
 * reconfigures its buckets keeping what they had used (a limit raised from 10 to 30 with 4 used
 * leaves 26).
 *
 * <p>Windows live in this process (Bucket4j's lock-free buckets in a Caffeine map), or in Redis
 * when one is given, where Bucket4j
 * updates each bucket by an atomic compare-and-swap, so that every gateway replica together
 * admits no more than the limit. When Redis cannot be reached, a window fails open to this
 * process's own bucket of the same key (each replica then admits up to the limit on its own), or
 * fails closed with a 503 when so configured; either way the outage shows in health and metrics
 * and ends by itself when Redis answers again. Calls in flight are counted in this process.
 * Thread-safe.
 */
final class Counters {
  private static final Logger log = LoggerFactory.getLogger(Counters.class);
  static final Duration WINDOW = Duration.ofMinutes(1);

  /** A window a call took from: what it said, and how to give back or charge more later. */
  record Took(Window window, ConsumptionProbe probe) {}

  /** A per-minute window, for what a call settles after it took. */
  interface Window {
    /** Returns {@code tokens} taken (never past the limit). */
    void giveBack(long tokens);

    /** Takes {@code tokens} more, even past the limit (the next calls wait the longer). */
    void charge(long tokens);
  }

  /** A window in this process: a lock-free Bucket4j bucket, with the config it was built for. */
  private record LocalWindow(Bucket bucket, long limit, long revision) implements Window {
    @Override
    public void giveBack(long tokens) {
      bucket.addTokens(tokens);
    }

    @Override
    public void charge(long tokens) {
      bucket.consumeIgnoringRateLimits(tokens);
    }
  }

  /** A window in Redis. */
  private record RedisWindow(AsyncBucketProxy bucket) implements Window {
    @Override
    public void giveBack(long tokens) {
      bucket.addTokens(tokens);
    }

    @Override
    public void charge(long tokens) {
      bucket.consumeIgnoringRateLimits(tokens);
    }
  }

  /**
   * This process's windows, forgotten two minutes after their last use, by when they would be
   * full again anyway.
   */
  private final com.github.benmanes.caffeine.cache.Cache<String, LocalWindow> local =
      Caffeine.newBuilder().maximumSize(1_000_000).expireAfterAccess(Duration.ofMinutes(2)).build();
  private final TimeMeter clock;
  private final boolean sharing;
  private volatile @Nullable AsyncProxyManager<String> shared;
  private volatile @Nullable MonthTally sharedMonths;
  private volatile @Nullable PlaceTally sharedPlaces;
  private final com.github.benmanes.caffeine.cache.Cache<String, AsyncBucketProxy> sharedProxies =
      Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(Duration.ofMinutes(2)).build();
  private final ConcurrentMap<String, AtomicLong> months = new ConcurrentHashMap<>();
  private final boolean failOpen;
  private final AtomicReference<Optional<String>> sharedError =
      new AtomicReference<>(Optional.empty());
  private final AtomicReference<Optional<String>> reported =
      new AtomicReference<>(Optional.empty());
  private final ConcurrentMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final AtomicLong unshared = new AtomicLong();

  private Counters(TimeMeter clock, boolean sharing, boolean failOpen) {
    this.clock = requireNonNull(clock, "clock");
    this.sharing = sharing;
    this.failOpen = failOpen;
  }

  /** Counters in this process, on {@code clock} (a wall clock). */
  static Counters local(TimeMeter clock) {
    return new Counters(clock, false, true);
  }

  /**
   * Windows shared through Redis once {@link #connected} hands over its buckets, with this
   * process's own on {@code clock} for outages (until then too).
   *
   * @param failOpen whether to count in this process while Redis is away, rather than refuse
   */
  static Counters shared(TimeMeter clock, boolean failOpen) {
    Counters counters = new Counters(clock, true, failOpen);
    counters.sharedError.set(Optional.of("not connected yet"));
    return counters;
  }

  /** Redis's buckets are reachable: windows are shared from now on. */
  void connected(AsyncProxyManager<String> buckets) {
    shared = requireNonNull(buckets, "buckets");
    sharedError.set(Optional.empty());
  }


  /** Whether calls are counted here while Redis is away (rather than refused). */
  boolean failsOpen() {
    return failOpen;
  }

  /** Whether windows are shared between replicas (through Redis). */
  boolean isShared() {
    return sharing;
  }

  /** Why the shared windows could not be reached the last time, while that lasts. */
  Optional<String> sharedError() {
    return sharedError.get();
  }

  /** How many times a window was counted in this process because Redis could not be reached. */
  long unsharedCount() {
    return unshared.get();
  }

  /**
   * Tries to take {@code amount} from the window of {@code limit} per minute named {@code key},
   * at config {@code revision}; the probe says whether it did.
   */
  CompletableFuture<Took> take(String key, long limit, long revision, long amount) {
    AsyncProxyManager<String> redis = shared;
    return inRedisOrHere(redis == null ? null : () -> {
          // One proxy per window and config, kept while in use: its batching merges the calls
          // this gateway makes on a hot window into one compare-and-swap, where separate ones
          // would collide and retry.
          AsyncBucketProxy bucket = sharedProxies.get(key + "#" + limit + "#" + revision,
              k -> redis.builder()
                  .withImplicitConfigurationReplacement(revision, TokensInheritanceStrategy.ADDITIVE)
                  .withOptimization(Optimizations.batching())
                  .build(key, () -> CompletableFuture.completedFuture(config(limit))));
          return bucket.tryConsumeAndReturnRemaining(amount)
              .thenApply(probe -> new Took(new RedisWindow(bucket), probe));
        },
        () -> CompletableFuture.completedFuture(takeHere(key, limit, revision, amount)));
  }

  /** A window's config: {@code limit} tokens, refilled whole a minute after the first use. */
  private static BucketConfiguration config(long limit) {
    return BucketConfiguration.builder()
        .addLimit(b -> b.capacity(limit).refillIntervally(limit, WINDOW))
        .build();
  }

  private Took takeHere(String key, long limit, long revision, long amount) {
    LocalWindow window = local.get(key, k -> new LocalWindow(
        Bucket.builder().withCustomTimePrecision(clock).addLimit(config(limit).getBandwidths()[0])
            .build(), limit, revision));
    if (window.revision() < revision || (window.revision() == revision && window.limit() != limit)) {
      window.bucket().replaceConfiguration(config(limit), TokensInheritanceStrategy.ADDITIVE);
      window = new LocalWindow(window.bucket(), limit, revision);
      local.put(key, window);
    }
    return new Took(window, window.bucket().tryConsumeAndReturnRemaining(amount));
  }

  /**
   * {@code inRedis} when limits are shared and Redis answers, else (or without Redis, or when it
   * fails) {@code here} — or a 503 when failing closed. No logging: this runs on Redis's I/O
   * threads; {@link #reportOutage} logs the changes.
   */
  private <T> CompletableFuture<T> inRedisOrHere(
      @Nullable Supplier<CompletableFuture<T>> inRedis, Supplier<CompletableFuture<T>> here) {
    if (!sharing) {
      return here.get();
    }
    CompletableFuture<T> attempt = inRedis == null
        ? CompletableFuture.failedFuture(new IllegalStateException("not connected to Redis"))
        : inRedis.get();
    return attempt
        .thenApply(result -> {
          if (sharedError.get().isPresent()) {
            sharedError.set(Optional.empty());
          }
          return result;
        })
        .exceptionallyCompose(e -> {
          if (e instanceof OpenAiException) {
            return CompletableFuture.failedFuture(e);
          }
          sharedError.set(Optional.of((e.getCause() != null ? e.getCause() : e).toString()));
          unshared.incrementAndGet();
          return failOpen ? here.get() : CompletableFuture.failedFuture(limitsUnavailable());
        });
  }

  /** Logs when the shared windows became unreachable or reachable again since the last call. */
  void reportOutage() {
    Optional<String> now = sharedError.get();
    Optional<String> before = reported.getAndSet(now);
    if (now.isPresent() && before.isEmpty()) {
      log.warn("Redis cannot be reached ({}): rate limits {}", now.get(), failOpen
          ? "are counted in this gateway alone until it answers"
          : "refuse every call until it answers");
    } else if (now.isEmpty() && before.isPresent()) {
      log.info("Redis answers: rate limits are shared between gateways");
    }
  }


  /**
   * What a reservation against a month's allowance found.
   *
   * @param made whether the amount was added (always, for a soft limit)
   * @param usedBefore what was used or reserved before this reservation
   * @param shared whether it was made in Redis (where its settlement must go too)
   */
  record Reserved(boolean made, long usedBefore, boolean shared) {}

  /**
   * Adds {@code amount} to the month's use named {@code key} if it stays within {@code limit}
   * (or whatever it comes to, when {@code hard} is false); an absent counter is first set to
   * what {@code seed} says was used before (the ledger's sum). Atomic per key, in Redis across
   * replicas.
   */
  CompletableFuture<Reserved> reserve(String key, long amount, long limit, boolean hard,
      Supplier<CompletableFuture<Long>> seed) {
    MonthTally redis = sharedMonths;
    return inRedisOrHere(redis == null ? null : () -> redis.reserve(key, amount, limit, hard, seed),
        () -> reserveLocal(key, amount, limit, hard, seed));
  }

  /** Adds {@code delta} (negative: gives back) to a month's use a reservation went to. */
  void adjust(String key, long delta, boolean shared) {
    MonthTally redis = sharedMonths;
    if (shared && redis != null) {
      redis.adjust(key, delta);
    } else {
      AtomicLong used = months.get(key);
      if (used != null) {
        used.addAndGet(delta);
      }
    }
  }

  private CompletableFuture<Reserved> reserveLocal(String key, long amount, long limit,
      boolean hard, Supplier<CompletableFuture<Long>> seed) {
    AtomicLong known = months.get(key);
    CompletableFuture<AtomicLong> used = known != null ? CompletableFuture.completedFuture(known)
        : seed.get().thenApply(before -> months.computeIfAbsent(key, k -> new AtomicLong(before)));
    return used.thenApply(counter -> {
      while (true) {
        long before = counter.get();
        if (hard && before + amount > limit) {
          return new Reserved(false, before, false);
        }
        if (counter.compareAndSet(before, before + amount)) {
          return new Reserved(true, before, false);
        }
      }
    });
  }

  /** A month's use counted in Redis: {@code reserve} and {@code adjust} as in {@link Counters}. */
  interface MonthTally {
    CompletableFuture<Reserved> reserve(String key, long amount, long limit, boolean hard,
        Supplier<CompletableFuture<Long>> seed);

    void adjust(String key, long delta);
  }

  /** Redis's month counters are reachable: used from now on. */
  void connected(MonthTally tally) {
    sharedMonths = requireNonNull(tally, "tally");
  }

  private static OpenAiException limitsUnavailable() {
    return new OpenAiException(503, "service_unavailable",
        "Rate limits cannot be checked right now (their store is unreachable). Retry shortly.",
        null, "limits_unavailable");
  }

  /**
   * A place taken among the calls at once of {@code key}: in this process, or in Redis under
   * {@code member}.
   */
  record Place(String key, String member, boolean shared) {}

  /** Calls at once counted in Redis, shared by every replica. */
  interface PlaceTally {
    /** Takes one of {@code max} places of {@code key} for {@code member}; whether there was one. */
    CompletableFuture<Boolean> enter(String key, String member, int max);

    /** Gives back {@code member}'s place of {@code key}. */
    void leave(String key, String member);
  }

  /** Redis's places are reachable: calls at once are counted there from now on. */
  void connected(PlaceTally tally) {
    sharedPlaces = requireNonNull(tally, "tally");
  }

  /**
   * Takes one of {@code max} places of {@code key} (calls at once), shared between replicas
   * through Redis when limits are; the place, or empty when there was none.
   */
  CompletableFuture<Optional<Place>> enter(String key, int max) {
    PlaceTally redis = sharedPlaces;
    return inRedisOrHere(redis == null ? null : () -> {
          String member = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current()
              .nextLong()) + Long.toHexString(System.nanoTime());
          return redis.enter(key, member, max)
              .thenApply(took -> took ? Optional.of(new Place(key, member, true))
                  : Optional.<Place>empty());
        },
        () -> CompletableFuture.completedFuture(enterHere(key, max)
            ? Optional.of(new Place(key, "", false)) : Optional.empty()));
  }

  private boolean enterHere(String key, int max) {
    AtomicInteger count = inFlight.computeIfAbsent(key, k -> new AtomicInteger());
    while (true) {
      int now = count.get();
      if (now >= max) {
        return false;
      }
      if (count.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  /** Gives back a place {@link #enter} took. */
  void leave(Place place) {
    PlaceTally redis = sharedPlaces;
    if (place.shared()) {
      if (redis != null) {
        redis.leave(place.key(), place.member());
      }
      return;
    }
    AtomicInteger count = inFlight.get(place.key());
    if (count != null) {
      count.decrementAndGet();
    }
  }
}
