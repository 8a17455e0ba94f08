package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.modelway.gateway.cache.semantic.SemanticKey;
import io.modelway.gateway.cache.semantic.SemanticMatch;
import io.modelway.gateway.cache.semantic.VectorIndex;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.Endpoint;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * The semantic half of the response cache: finds, for a request that missed the exact cache, an
 * earlier answered request whose question means the same in the same context, and names its
 * entry; the answer itself stays in the {@link ResponseCache} under that entry's exact key.
 *
 * <p>A question is embedded by the model's {@code embedding-model} (an {@link Embedder}: the
 * gateway calling a model it serves). Its vector is searched in an HNSW index ({@link
 * VectorIndex}, one per embedding model) restricted to the partition of the tenant's namespace,
 * the model and the request's context hash ({@link SemanticKey}); the nearest question is a hit
 * when {@link SemanticMatch} judges it one (similarity at or over the threshold, and no number,
 * negation, name or unit that differs). The questions' texts are kept beside the index for that
 * judgement. Each index holds at most {@link #MAX_ENTRIES} questions, oldest dropped first.
 *
 * <p>Replicas keep their indexes in step through {@link #onAdded} and {@link #apply}: what one
 * adds, it publishes; what others publish, it applies. Thread-safe; never blocks.
 */
public final class SemanticCache {
  /** Questions each index holds. */
  public static final int MAX_ENTRIES = 100_000;
  /** The longest embedding an index holds (Lucene's limit for HNSW vectors). */
  public static final int MAX_DIMENSIONS = 1024;

  /** Embeds a question with an embedding model. */
  @FunctionalInterface
  public interface Embedder {
    /** The embedding of {@code text} by {@code model}; empty when it could not be made. */
    CompletableFuture<Optional<float[]>> embed(String model, String text);
  }

  /** A question added to the index, as replicas tell each other. */
  public record Added(String embeddingModel, VectorIndex.Partition partition, String entry,
      String question, float[] vector) {
    public Added {
      requireNonNull(embeddingModel, "embeddingModel");
      requireNonNull(partition, "partition");
      requireNonNull(entry, "entry");
      requireNonNull(question, "question");
      requireNonNull(vector, "vector");
    }
  }

  /** A semantic hit: the entry whose answer serves, and how close its question was. */
  public record Match(String entry, double similarity) {}

  private final Embedder embedder;
  private final ConcurrentMap<String, VectorIndex> indexes = new ConcurrentHashMap<>();
  private final Cache<String, String> questions =
      Caffeine.newBuilder().maximumSize(2L * MAX_ENTRIES).build();
  private volatile Consumer<Added> onAdded = added -> { };
  private volatile Consumer<ResponseCache.Purge> onPurged = purge -> { };

  public SemanticCache(Embedder embedder) {
    this.embedder = requireNonNull(embedder, "embedder");
  }

  /**
   * Loads Lucene's codecs (read through {@link java.util.ServiceLoader} from its jar) by using
   * an index once, so that the first index made on an event loop does not read files there.
   * Blocking: call it at start-up.
   */
  public static void warmUp() {
    try (VectorIndex index = VectorIndex.create(2, 2)) {
      VectorIndex.Partition partition = new VectorIndex.Partition("warm-up", "warm-up", "0");
      index.add("warm-up", partition, new float[] {1, 0}).toCompletableFuture().join();
      index.nearest(partition, new float[] {0, 1});
    }
  }

  /** Runs {@code listener} with each question this replica adds, to tell the others. */
  public void onAdded(Consumer<Added> listener) {
    onAdded = requireNonNull(listener, "listener");
  }

  /** Runs {@code listener} with each purge made through this replica, to tell the others. */
  public void onPurged(Consumer<ResponseCache.Purge> listener) {
    onPurged = requireNonNull(listener, "listener");
  }

  /** One request's question, once {@link #probe} found it semantically cacheable. */
  public final class Probe {
    private final ModelwayConfig.Semantic settings;
    private final VectorIndex.Partition partition;
    private final SemanticKey key;
    private volatile float @org.jspecify.annotations.Nullable [] vector;

    private Probe(ModelwayConfig.Semantic settings, VectorIndex.Partition partition,
        SemanticKey key) {
      this.settings = settings;
      this.partition = partition;
      this.key = key;
    }

    /** The entry whose answer serves this request, if one does. Never fails. */
    public CompletableFuture<Optional<Match>> lookup() {
      return embedder.embed(settings.embeddingModel(), key.text())
          .exceptionally(failure -> Optional.empty())
          .thenApply(embedding -> {
            if (embedding.isEmpty()) {
              return Optional.empty();
            }
            float[] unit = unit(embedding.get());
            vector = unit;
            VectorIndex index = indexes.get(settings.embeddingModel());
            if (index == null || unit.length != index.dimensions()) {
              return Optional.empty();
            }
            return index.nearest(partition, unit).flatMap(near -> {
              String question = questions.getIfPresent(near.entryId());
              if (question == null) {
                return Optional.empty();
              }
              SemanticMatch.Verdict verdict = new SemanticMatch(settings.threshold())
                  .judge(key.text(), question, near.similarity());
              return verdict.isHit()
                  ? Optional.of(new Match(near.entryId(), near.similarity()))
                  : Optional.empty();
            });
          });
    }

    /** The answer to this request was kept under {@code entry}: its question joins the index. */
    public void kept(String entry) {
      float[] unit = vector;
      if (unit == null) {
        return;
      }
      Added added = new Added(settings.embeddingModel(), partition, entry, key.text(), unit);
      apply(added);
      onAdded.accept(added);
    }
  }

  /**
   * The semantic part of a request keyed {@code exact}, or empty when the model's semantic
   * cache is off or the request has no single question to compare (see {@link SemanticKey}).
   */
  public Optional<Probe> probe(CacheKey exact, ModelwayConfig.Semantic settings,
      Endpoint endpoint, byte[] body) {
    if (!settings.enabled()) {
      return Optional.empty();
    }
    return SemanticKey.of(endpoint, body).map(key -> new Probe(settings,
        new VectorIndex.Partition(exact.namespace(), exact.model(), key.contextHash()), key));
  }

  /** Adds a question to this replica's index: one it answered, or one another replica did. */
  public void apply(Added added) {
    int dimensions = added.vector().length;
    if (dimensions < 1 || dimensions > MAX_DIMENSIONS) {
      return; // an embedding Lucene's HNSW vectors cannot hold: nothing is semantically cached
    }
    VectorIndex index = indexes.computeIfAbsent(added.embeddingModel(),
        model -> VectorIndex.create(dimensions, MAX_ENTRIES));
    if (dimensions != index.dimensions()) {
      return; // the embedding model changed its dimensions: the old index stays for its entries
    }
    questions.put(added.entry(), added.question());
    index.add(added.entry(), added.partition(), added.vector());
  }

  /** Forgets the questions {@code purge} names, here and (through the listener) elsewhere. */
  public void purge(ResponseCache.Purge purge) {
    applyPurge(purge);
    onPurged.accept(purge);
  }

  /** Forgets the questions {@code purge} names, here: a purge made here or on another replica. */
  public void applyPurge(ResponseCache.Purge purge) {
    for (VectorIndex index : indexes.values()) {
      if (purge.hash().isPresent()) {
        index.remove(purge.hash().get());
      } else {
        index.removeIf(p -> purge.namespace().map(p.namespace()::equals).orElse(true)
            && purge.model().map(p.model()::equals).orElse(true));
      }
    }
  }

  /** Forgets {@code entry}, whose answer is no longer kept. */
  public void forget(String entry) {
    indexes.values().forEach(index -> index.remove(entry));
    questions.invalidate(entry);
  }

  /** Questions held, every index together. */
  public int size() {
    return indexes.values().stream().mapToInt(VectorIndex::size).sum();
  }

  static float[] unit(float[] v) {
    double norm = 0;
    for (float x : v) {
      norm += (double) x * x;
    }
    if (!(norm > 0) || Double.isInfinite(norm)) {
      return new float[0];
    }
    float[] unit = new float[v.length];
    double scale = 1 / Math.sqrt(norm);
    for (int i = 0; i < v.length; i++) {
      unit[i] = (float) (v[i] * scale);
    }
    return unit;
  }

  public void close() {
    indexes.values().forEach(VectorIndex::close);
  }
}
