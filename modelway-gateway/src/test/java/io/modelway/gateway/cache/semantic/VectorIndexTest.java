package io.modelway.gateway.cache.semantic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.modelway.gateway.cache.semantic.VectorIndex.Neighbour;
import io.modelway.gateway.cache.semantic.VectorIndex.Partition;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VectorIndexTest {
  private static final int DIMS = 32;
  private static final Partition ACME = new Partition("acme", "gpt-4o-mini", "ctx-1");
  private static final Partition GLOBEX = new Partition("globex", "gpt-4o-mini", "ctx-1");
  private static final Partition ACME_OTHER_CONTEXT = new Partition("acme", "gpt-4o-mini", "ctx-2");

  private final Random random = new Random(42);
  private final List<VectorIndex> opened = new ArrayList<>();

  @AfterEach
  void close() {
    opened.forEach(VectorIndex::close);
  }

  private VectorIndex index(int dims, int maxEntries) {
    VectorIndex index = VectorIndex.create(dims, maxEntries);
    opened.add(index);
    return index;
  }

  private float[] randomUnit(int dims) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return normalize(v);
  }

  private static float[] normalize(float[] v) {
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] / Math.sqrt(norm));
    }
    return out;
  }

  /** {@code v} moved a little towards a random direction: a near neighbour. */
  private float[] near(float[] v, double noise) {
    float[] r = randomUnit(v.length);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] + noise * r[i]);
    }
    return normalize(out);
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static <T> T join(java.util.concurrent.CompletionStage<T> stage) {
    return stage.toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
  }

  @Test
  void findsTheNearestEntryWithItsCosineSimilarity() {
    VectorIndex index = index(DIMS, 100);
    float[] a = randomUnit(DIMS);
    float[] b = randomUnit(DIMS);
    join(index.add("a", ACME, a));
    join(index.add("b", ACME, b));
    float[] query = near(a, 0.2);

    Optional<Neighbour> found = index.nearest(ACME, query);

    assertThat(found).isPresent();
    assertThat(found.get().entryId()).isEqualTo("a");
    assertThat(found.get().similarity()).isCloseTo(dot(a, query), within(1e-5));
    assertThat(index.size()).isEqualTo(2);
  }

  @Test
  void neverReturnsAnEntryOfAnotherPartition() {
    VectorIndex index = index(DIMS, 100);
    float[] v = randomUnit(DIMS);
    join(index.add("globex-1", GLOBEX, v));
    join(index.add("acme-other", ACME_OTHER_CONTEXT, v));
    join(index.add("acme-far", ACME, randomUnit(DIMS)));

    assertThat(index.nearest(ACME, v)).map(Neighbour::entryId).contains("acme-far");
    assertThat(index.nearest(new Partition("initech", "gpt-4o-mini", "ctx-1"), v)).isEmpty();
    assertThat(index.nearest(GLOBEX, v)).map(Neighbour::entryId).contains("globex-1");
  }

  @Test
  void partitionsWithSeparatorLikeNamesStayApart() {
    VectorIndex index = index(DIMS, 100);
    float[] v = randomUnit(DIMS);
    join(index.add("x", new Partition("a:1", "b", "c"), v));

    assertThat(index.nearest(new Partition("a", "1b", "c"), v)).isEmpty();
    assertThat(index.nearest(new Partition("a:1", "b", "c"), v)).isPresent();
  }

  @Test
  void removedEntriesAreNotFound() {
    VectorIndex index = index(DIMS, 100);
    float[] v = randomUnit(DIMS);
    join(index.add("a", ACME, v));
    join(index.add("b", ACME, randomUnit(DIMS)));

    assertThat(join(index.remove("a"))).isTrue();
    assertThat(join(index.remove("a"))).isFalse();

    assertThat(index.nearest(ACME, v)).map(Neighbour::entryId).contains("b");
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void removeIfPurgesMatchingPartitionsOnly() {
    VectorIndex index = index(DIMS, 100);
    float[] v = randomUnit(DIMS);
    join(index.add("a1", ACME, v));
    join(index.add("a2", ACME_OTHER_CONTEXT, v));
    join(index.add("g1", GLOBEX, v));

    int removed = join(index.removeIf(p -> p.namespace().equals("acme")));

    assertThat(removed).isEqualTo(2);
    assertThat(index.nearest(ACME, v)).isEmpty();
    assertThat(index.nearest(ACME_OTHER_CONTEXT, v)).isEmpty();
    assertThat(index.nearest(GLOBEX, v)).map(Neighbour::entryId).contains("g1");
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void aPredicateThatThrowsRemovesNothing() {
    VectorIndex index = index(DIMS, 100);
    float[] v = randomUnit(DIMS);
    join(index.add("a1", ACME, v));

    CompletableFuture<Integer> purge = index.removeIf(p -> {
      throw new IllegalStateException("boom");
    }).toCompletableFuture();

    assertThatThrownBy(() -> join(purge)).hasCauseInstanceOf(IllegalStateException.class);
    assertThat(index.nearest(ACME, v)).isPresent();
  }

  @Test
  void evictsTheOldestBeyondMaxEntriesAndReAddingRenews() {
    VectorIndex index = index(DIMS, 3);
    float[][] v = new float[5][];
    for (int i = 0; i < 5; i++) {
      v[i] = randomUnit(DIMS);
    }
    join(index.add("e0", ACME, v[0]));
    join(index.add("e1", ACME, v[1]));
    join(index.add("e2", ACME, v[2]));
    join(index.add("e0", ACME, v[0])); // e0 is the newest now: e1 is the oldest
    join(index.add("e3", ACME, v[3]));

    assertThat(index.size()).isEqualTo(3);
    assertThat(join(index.remove("e1"))).as("e1 was evicted").isFalse();
    assertThat(index.nearest(ACME, v[0])).map(Neighbour::entryId).contains("e0");
    assertThat(index.nearest(ACME, v[1])).map(Neighbour::entryId).isNotEqualTo(Optional.of("e1"));
  }

  @Test
  void replacingAnEntryMovesItsVectorAndPartition() {
    VectorIndex index = index(DIMS, 100);
    float[] first = randomUnit(DIMS);
    float[] second = randomUnit(DIMS);
    join(index.add("a", ACME, first));
    join(index.add("a", GLOBEX, second));

    assertThat(index.nearest(ACME, first)).isEmpty();
    assertThat(index.nearest(GLOBEX, second).orElseThrow().similarity()).isCloseTo(1, within(1e-5));
    assertThat(index.size()).isEqualTo(1);
  }

  @Test
  void findsEachEntryInALargePartitionThroughTheGraph() {
    // Enough entries in one partition (and others around it) that Lucene walks the HNSW graph
    // rather than scanning: every stored vector must still find itself.
    VectorIndex index = index(384, 10_000);
    List<float[]> vectors = new ArrayList<>();
    List<CompletableFuture<Void>> adds = new ArrayList<>();
    for (int i = 0; i < 3_000; i++) {
      float[] v = randomUnit(384);
      vectors.add(v);
      Partition p = i % 3 == 0 ? GLOBEX : ACME;
      adds.add(index.add("e" + i, p, v).toCompletableFuture());
    }
    CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new)).orTimeout(60, TimeUnit.SECONDS)
        .join();

    int found = 0;
    int checked = 0;
    for (int i = 1; i < vectors.size(); i += 7) {
      if (i % 3 == 0) {
        continue;
      }
      checked++;
      Optional<Neighbour> n = index.nearest(ACME, near(vectors.get(i), 0.3));
      if (n.isPresent() && n.get().entryId().equals("e" + i)) {
        found++;
      }
      assertThat(n).isPresent();
      assertThat(Integer.parseInt(n.get().entryId().substring(1)) % 3).isNotZero();
    }
    assertThat(found).as("found of %s", checked).isGreaterThanOrEqualTo(checked * 95 / 100);
  }

  @Test
  void concurrentAddsAndSearchesSeeEveryCompletedAdd() throws Exception {
    VectorIndex index = index(DIMS, 100_000);
    int threads = 4;
    int perThread = 300;
    ExecutorService pool = Executors.newFixedThreadPool(threads * 2);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<List<String>>> writers = new ArrayList<>();
      List<Future<Integer>> readers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        long seed = 1000 + t;
        writers.add(pool.submit(() -> {
          Random r = new Random(seed);
          start.await();
          List<String> missing = new ArrayList<>();
          for (int i = 0; i < perThread; i++) {
            float[] v = new float[DIMS];
            for (int d = 0; d < DIMS; d++) {
              v[d] = (float) r.nextGaussian();
            }
            v = normalize(v);
            String id = "t" + thread + "-" + i;
            join(index.add(id, ACME, v));
            Optional<Neighbour> n = index.nearest(ACME, v);
            if (n.isEmpty() || !n.get().entryId().equals(id)) {
              missing.add(id);
            }
          }
          return missing;
        }));
        readers.add(pool.submit(() -> {
          Random r = new Random(seed + 100);
          start.await();
          int searches = 0;
          for (int i = 0; i < perThread; i++) {
            float[] v = new float[DIMS];
            for (int d = 0; d < DIMS; d++) {
              v[d] = (float) r.nextGaussian();
            }
            index.nearest(ACME, normalize(v));
            searches++;
          }
          return searches;
        }));
      }
      start.countDown();
      for (Future<List<String>> w : writers) {
        assertThat(w.get(120, TimeUnit.SECONDS)).as("entries not found right after add").isEmpty();
      }
      for (Future<Integer> r : readers) {
        assertThat(r.get(120, TimeUnit.SECONDS)).isEqualTo(perThread);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(index.size()).isEqualTo(threads * perThread);
  }

  @Test
  void rejectsVectorsOfTheWrongShapeOrLength() {
    VectorIndex index = index(DIMS, 10);
    float[] notUnit = new float[DIMS];
    notUnit[0] = 2;
    float[] nan = randomUnit(DIMS);
    nan[3] = Float.NaN;

    assertThatThrownBy(() -> index.add("x", ACME, new float[DIMS + 1]))
        .hasMessageContaining("expected: " + DIMS);
    assertThatThrownBy(() -> index.add("x", ACME, notUnit))
        .hasMessageContaining("expected: 1, a normalized vector");
    assertThatThrownBy(() -> index.nearest(ACME, nan)).hasMessageContaining("finite");
    assertThatThrownBy(() -> VectorIndex.create(0, 10)).hasMessageContaining("expected: 1 to 1024");
    assertThatThrownBy(() -> VectorIndex.create(8, 0)).hasMessageContaining("expected: >= 1");
  }

  @Test
  void aClosedIndexRefusesChangesAndSearches() {
    VectorIndex index = VectorIndex.create(DIMS, 10);
    float[] v = randomUnit(DIMS);
    join(index.add("a", ACME, v));
    index.close();
    index.close();

    assertThatThrownBy(() -> join(index.add("b", ACME, v)))
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(RejectedExecutionException.class);
    assertThatThrownBy(() -> index.nearest(ACME, v)).isInstanceOf(IllegalStateException.class);
  }
}
