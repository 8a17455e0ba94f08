package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.modelway.gateway.catalog.ModelwayConfig;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Answers in this process: one Caffeine cache per model, bounded by the model's {@code
 * max-size} in answer bytes (least recently used dropped first, Caffeine's W-TinyLFU) and ending
 * {@code ttl} after they were written. A model's new settings resize its cache in place.
 */
public final class LocalResponseCache implements ResponseCache {
  /** What an entry costs besides its answer bytes: key, node and references, roughly. */
  static final int ENTRY_OVERHEAD = 256;

  private record Settings(long maxBytes, Duration ttl) {}

  private record PerModel(Cache<CacheKey, Stored> entries, Settings settings) {}

  private final Ticker ticker;
  private final ConcurrentMap<String, PerModel> models = new ConcurrentHashMap<>();

  public LocalResponseCache(Ticker ticker) {
    this.ticker = requireNonNull(ticker, "ticker");
  }

  @Override
  public CompletableFuture<Optional<Stored>> get(CacheKey key) {
    PerModel model = models.get(key.model());
    return CompletableFuture.completedFuture(
        model == null ? Optional.empty() : Optional.ofNullable(model.entries().getIfPresent(key)));
  }

  @Override
  public void put(CacheKey key, byte[] answer, long writtenAtMillis,
      ModelwayConfig.Cache settings) {
    Settings wanted = new Settings(settings.maxSize().toBytes(),
        settings.ttl().plus(settings.staleIfError()));
    PerModel model = models.compute(key.model(), (name, now) -> {
      if (now == null) {
        return new PerModel(Caffeine.newBuilder()
            .ticker(ticker)
            .maximumWeight(wanted.maxBytes())
            .weigher((CacheKey k, Stored v) -> v.answer().length + ENTRY_OVERHEAD)
            .expireAfterWrite(wanted.ttl())
            .build(), wanted);
      }
      if (!now.settings().equals(wanted)) {
        now.entries().policy().eviction().ifPresent(e -> e.setMaximum(wanted.maxBytes()));
        now.entries().policy().expireAfterWrite().ifPresent(e -> e.setExpiresAfter(wanted.ttl()));
        return new PerModel(now.entries(), wanted);
      }
      return now;
    });
    model.entries().put(key, new Stored(answer, writtenAtMillis));
  }

  @Override
  public CompletableFuture<Long> purge(Purge purge) {
    long dropped = 0;
    for (PerModel model : models.values()) {
      for (CacheKey key : model.entries().asMap().keySet()) {
        if (purge.matches(key) && model.entries().asMap().remove(key) != null) {
          dropped++;
        }
      }
    }
    return CompletableFuture.completedFuture(dropped);
  }

  @Override
  public long bytesHeld() {
    long bytes = 0;
    for (PerModel model : models.values()) {
      bytes += model.entries().policy().eviction()
          .flatMap(e -> e.weightedSize().isPresent()
              ? Optional.of(e.weightedSize().getAsLong()) : Optional.empty())
          .orElse(0L);
    }
    return bytes;
  }

  /** Entries held, every model together (expired ones not yet cleaned up included). */
  long size() {
    return models.values().stream().mapToLong(m -> m.entries().estimatedSize()).sum();
  }

  @Override
  public String mode() {
    return "local";
  }

  @Override
  public void close() {
    models.clear();
  }
}
