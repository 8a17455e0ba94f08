package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.ModelwayConfig;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where cached answers are kept: in this process ({@link LocalResponseCache}) or in Redis
 * ({@link SharedResponseCache}). Thread-safe; no method blocks, and none fails: a store that
 * cannot be reached answers "not cached" and keeps nothing, so the request goes on to the model.
 */
public interface ResponseCache extends AutoCloseable {

  /**
   * The answer kept under {@code key}, if any and not dropped: fresh (younger than its TTL), or
   * stale and kept for {@code stale-if-error}; {@link Stored#writtenAtMillis} tells which.
   */
  CompletableFuture<Optional<Stored>> get(CacheKey key);

  /**
   * Keeps {@code answer} under {@code key}, written at {@code writtenAtMillis} (epoch
   * milliseconds), for {@code settings.ttl()} plus {@code settings.staleIfError()}, in the
   * background.
   */
  void put(CacheKey key, byte[] answer, long writtenAtMillis, ModelwayConfig.Cache settings);

  /** Drops every entry {@code purge} names; completes with how many it dropped. */
  CompletableFuture<Long> purge(Purge purge);

  /** The bytes of answers held in this process's memory. */
  long bytesHeld();

  /** Where entries are kept now: {@code local}, {@code redis}, {@code local (redis unreachable)}. */
  String mode();

  @Override
  void close();

  /** An answer as kept, with when it was written (epoch milliseconds). */
  record Stored(byte[] answer, long writtenAtMillis) {
    public Stored {
      requireNonNull(answer, "answer");
    }

    /** Whether it is younger than {@code ttl} at {@code nowMillis}. */
    public boolean freshAt(long nowMillis, java.time.Duration ttl) {
      return nowMillis - writtenAtMillis < ttl.toMillis();
    }
  }

  /**
   * Which entries to drop: those matching every given part. Immutable.
   *
   * @param namespace entries of this cache namespace
   * @param model entries of this public model name
   * @param hash the one entry with this hash
   */
  record Purge(Optional<String> namespace, Optional<String> model, Optional<String> hash) {
    public Purge {
      requireNonNull(namespace, "namespace");
      requireNonNull(model, "model");
      requireNonNull(hash, "hash");
    }

    boolean matches(CacheKey key) {
      return namespace.map(key.namespace()::equals).orElse(true)
          && model.map(key.model()::equals).orElse(true)
          && hash.map(key.hash()::equals).orElse(true);
    }
  }
}
