package io.modelway.gateway.cache.semantic;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherFactory;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.ByteBuffersDirectory;

/**
 * The semantic cache's nearest-neighbour index: unit vectors of cached questions, each under an
 * entry id and a {@link Partition}, searched for the most similar one within a partition.
 *
 * <p>Design. One in-memory Lucene index ({@link ByteBuffersDirectory}): a document per entry
 * with its id, its partition as a term, and its vector in a {@link KnnFloatVectorField} (dot
 * product over unit vectors: cosine similarity), which Lucene indexes as an HNSW graph per
 * segment (Malkov and Yashunin, "Efficient and robust approximate nearest neighbor search using
 * Hierarchical Navigable Small World graphs", 2016; Lucene's defaults M = 16, beam width 100). A
 * search is a {@link KnnFloatVectorQuery} filtered by the partition's term: Lucene scans the
 * partition's entries exactly when there are few of them and walks the graph, skipping other
 * partitions, when there are many. Removed and evicted entries are deleted documents, skipped by
 * searches and reclaimed by Lucene's background merges.
 *
 * <p>Threads. Every change ({@link #add}, {@link #remove}, {@link #removeIf}) is queued and
 * applied by one writer thread that the index owns, which applies whatever is queued, makes it
 * searchable (a near-real-time reader refresh) and then completes the changes' stages; so a
 * change costs its caller O(1) and never blocks, and is seen by searches once its stage has
 * completed. At most {@link #MAX_PENDING} changes wait; beyond that {@code add} fails at once
 * (the entry is simply not cached). Searches ({@link #nearest}) run on the caller's thread over
 * the latest refreshed snapshot, without locks. Their cost: building the partition filter is
 * O(entries in the partition); then either an exact scan of the partition's vectors (few
 * entries) or an HNSW walk of O(log n) hops over each segment, each hop comparing up to 2·M
 * vectors of {@code dimensions} floats: about 0.1 to 1 ms for 384 dimensions and 10^5 entries,
 * fine on an event loop. Segment merges (graph rebuilds, the expensive part of HNSW) run on
 * Lucene's merge threads.
 *
 * <p>Size: at most {@code maxEntries} live entries; adding one more evicts the oldest (by time
 * of the last {@code add} of its id). Memory: about {@code 4·dimensions + 150} bytes per entry,
 * plus deleted entries until merged.
 *
 * <p>Thread-safe. Arguments are never null; vectors must have {@code dimensions} finite
 * components and unit length (within 10^-3).
 */
public final class VectorIndex implements AutoCloseable {
  /** Most changes that may wait for the writer thread. */
  public static final int MAX_PENDING = 10_000;
  /** Candidates an HNSW search keeps (its beam width): more finds the true nearest more often. */
  private static final int CANDIDATES = 16;
  private static final String ID = "id";
  private static final String PARTITION = "partition";
  private static final String VECTOR = "vector";

  /**
   * The scope within which questions are compared: entries of different partitions never match.
   *
   * @param namespace the tenant's cache namespace
   * @param model the resolved model and version
   * @param contextHash {@link SemanticKey#contextHash()}
   */
  public record Partition(String namespace, String model, String contextHash) {
    public Partition {
      requireNonNull(namespace, "namespace");
      requireNonNull(model, "model");
      requireNonNull(contextHash, "contextHash");
    }

    /** An unambiguous term: lengths prefix the parts. */
    String term() {
      return namespace.length() + ":" + namespace + model.length() + ":" + model + contextHash;
    }
  }

  /**
   * The nearest entry found.
   *
   * @param entryId the id it was added under
   * @param similarity cosine similarity with the query vector, -1 to 1
   */
  public record Neighbour(String entryId, double similarity) {
    public Neighbour {
      requireNonNull(entryId, "entryId");
    }
  }

  private final int dimensions;
  private final int maxEntries;
  private final ByteBuffersDirectory directory = new ByteBuffersDirectory();
  private final IndexWriter writer;
  private final SearcherManager searchers;
  private final ConcurrentLinkedQueue<Change> changes = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread writerThread;
  /** Live entries, oldest first: the writer thread's alone. */
  private final LinkedHashMap<String, Partition> entries = new LinkedHashMap<>();
  private volatile int size;

  private VectorIndex(int dimensions, int maxEntries) throws IOException {
    this.dimensions = dimensions;
    this.maxEntries = maxEntries;
    IndexWriterConfig config = new IndexWriterConfig()
        .setOpenMode(IndexWriterConfig.OpenMode.CREATE)
        .setCommitOnClose(false);
    this.writer = new IndexWriter(directory, config);
    this.searchers = new SearcherManager(writer, true, false, new SearcherFactory() {
      @Override
      public IndexSearcher newSearcher(IndexReader reader, IndexReader previous) {
        IndexSearcher searcher = new IndexSearcher(reader); // no executor: the caller's thread
        searcher.setQueryCache(null); // each partition filter is used once per search anyway
        return searcher;
      }
    });
    this.writerThread = new Thread(this::applyChanges, "semantic-index-writer");
    this.writerThread.setDaemon(true);
  }

  /** The length of every vector in this index. */
  public int dimensions() {
    return dimensions;
  }

  /**
   * An empty index with its writer thread started.
   *
   * @param dimensions the length of every vector (384 for all-MiniLM-L6-v2), 1 to 1024
   * @param maxEntries the most live entries, at least 1; the oldest is evicted beyond
   */
  public static VectorIndex create(int dimensions, int maxEntries) {
    if (dimensions < 1 || dimensions > 1024) {
      throw new IllegalArgumentException("dimensions: " + dimensions + " (expected: 1 to 1024)");
    }
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries: " + maxEntries + " (expected: >= 1)");
    }
    try {
      VectorIndex index = new VectorIndex(dimensions, maxEntries);
      index.writerThread.start();
      return index;
    } catch (IOException e) {
      throw new UncheckedIOException("creating an in-memory index failed", e);
    }
  }

  /**
   * Adds {@code vector} as entry {@code entryId} of {@code partition}, replacing an entry of the
   * same id (which then counts as the newest). O(1) for the caller.
   *
   * @return completes once the entry is searchable; fails with {@link RejectedExecutionException}
   *     when {@link #MAX_PENDING} changes wait or the index is closed
   * @throws IllegalArgumentException when the vector has the wrong length or is not a unit vector
   */
  public CompletionStage<Void> add(String entryId, Partition partition, float[] vector) {
    requireNonNull(entryId, "entryId");
    requireNonNull(partition, "partition");
    float[] copy = checked(vector).clone();
    return submit(new Add(entryId, partition, copy, new CompletableFuture<>()));
  }

  /**
   * Removes entry {@code entryId}, if present. O(1) for the caller.
   *
   * @return completes with whether it was present, once searches no longer find it
   */
  public CompletionStage<Boolean> remove(String entryId) {
    requireNonNull(entryId, "entryId");
    return submit(new Remove(entryId, new CompletableFuture<>()));
  }

  /**
   * Removes every entry whose partition {@code matches}, for purges by tenant, model or context.
   * The predicate runs on the writer thread, once per partition with entries: O(size) there, O(1)
   * for the caller. When it throws, nothing is removed and the stage fails with its exception.
   *
   * @return completes with the number of entries removed, once searches no longer find them
   */
  public CompletionStage<Integer> removeIf(Predicate<? super Partition> matches) {
    requireNonNull(matches, "matches");
    return submit(new RemoveIf(matches, new CompletableFuture<>()));
  }

  /**
   * The entry of {@code partition} most similar to {@code vector}, if the partition has any.
   * Approximate when the partition is large (HNSW): rarely, a nearer entry exists. Cost: see the
   * class comment; never blocks.
   *
   * @throws IllegalArgumentException when the vector has the wrong length or is not a unit vector
   * @throws IllegalStateException when the index is closed
   */
  public Optional<Neighbour> nearest(Partition partition, float[] vector) {
    requireNonNull(partition, "partition");
    checked(vector);
    IndexSearcher searcher;
    try {
      searcher = searchers.acquire();
    } catch (AlreadyClosedException | IOException e) {
      throw new IllegalStateException("the index is closed", e);
    }
    try {
      KnnFloatVectorQuery query = new KnnFloatVectorQuery(VECTOR, vector, CANDIDATES,
          new TermQuery(new Term(PARTITION, partition.term())));
      TopDocs top = searcher.search(query, 1);
      if (top.scoreDocs.length == 0) {
        return Optional.empty();
      }
      ScoreDoc best = top.scoreDocs[0];
      String id = searcher.storedFields().document(best.doc, Set.of(ID)).get(ID);
      // Lucene scores a dot product d as (1 + d) / 2.
      double similarity = Math.max(-1, Math.min(1, 2.0 * best.score - 1));
      return Optional.of(new Neighbour(requireNonNull(id, "stored id"), similarity));
    } catch (IOException e) {
      throw new UncheckedIOException("searching an in-memory index failed", e);
    } finally {
      try {
        searchers.release(searcher);
      } catch (IOException e) {
        throw new UncheckedIOException("releasing a searcher failed", e);
      }
    }
  }

  /** Live entries as of the last applied change. */
  public int size() {
    return size;
  }

  /**
   * Stops the writer thread (changes still queued fail) and frees the index. Idempotent; blocks
   * until the writer thread has stopped.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    LockSupport.unpark(writerThread);
    boolean interrupted = false;
    while (writerThread.isAlive()) {
      try {
        writerThread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    try {
      searchers.close();
      writer.rollback();
      directory.close();
    } catch (IOException e) {
      throw new UncheckedIOException("closing the index failed", e);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private float[] checked(float[] vector) {
    requireNonNull(vector, "vector");
    if (vector.length != dimensions) {
      throw new IllegalArgumentException(
          "vector of " + vector.length + " dimensions (expected: " + dimensions + ")");
    }
    double norm = 0;
    for (float x : vector) {
      if (!Float.isFinite(x)) {
        throw new IllegalArgumentException("vector has a component " + x + " (expected: finite)");
      }
      norm += (double) x * x;
    }
    if (Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
      throw new IllegalArgumentException(
          "vector of length " + Math.sqrt(norm) + " (expected: 1, a normalized vector)");
    }
    return vector;
  }

  private <T> CompletionStage<T> submit(Change change) {
    @SuppressWarnings("unchecked")
    CompletableFuture<T> done = (CompletableFuture<T>) change.done();
    if (closed.get()) {
      done.completeExceptionally(new RejectedExecutionException("the index is closed"));
      return done;
    }
    if (pending.incrementAndGet() > MAX_PENDING) {
      pending.decrementAndGet();
      done.completeExceptionally(new RejectedExecutionException(
          MAX_PENDING + " changes wait for the index writer"));
      return done;
    }
    changes.add(change);
    LockSupport.unpark(writerThread);
    return done;
  }

  // ---------------------------------------------------------------------------------------------
  // The writer thread

  private sealed interface Change permits Add, Remove, RemoveIf {
    CompletableFuture<?> done();
  }

  private record Add(String id, Partition partition, float[] vector, CompletableFuture<Void> done)
      implements Change {}

  private record Remove(String id, CompletableFuture<Boolean> done) implements Change {}

  private record RemoveIf(Predicate<? super Partition> matches, CompletableFuture<Integer> done)
      implements Change {}

  /** A change applied, with the value its stage completes with once searchable. */
  private record Applied(Change change, Object result) {}

  private void applyChanges() {
    List<Applied> batch = new ArrayList<>();
    while (!closed.get()) {
      Change change = changes.poll();
      if (change == null) {
        LockSupport.park(this);
        continue;
      }
      do {
        pending.decrementAndGet();
        try {
          batch.add(new Applied(change, apply(change)));
        } catch (IOException | RuntimeException e) {
          change.done().completeExceptionally(e);
        }
      } while (batch.size() < 1_000 && (change = changes.poll()) != null);
      try {
        searchers.maybeRefreshBlocking();
        size = entries.size();
        for (Applied applied : batch) {
          complete(applied.change().done(), applied.result());
        }
      } catch (IOException | RuntimeException e) {
        for (Applied applied : batch) {
          applied.change().done().completeExceptionally(e);
        }
      }
      batch.clear();
    }
    RejectedExecutionException closing = new RejectedExecutionException("the index is closed");
    for (Change left; (left = changes.poll()) != null; ) {
      left.done().completeExceptionally(closing);
    }
  }

  @SuppressWarnings("unchecked")
  private static void complete(CompletableFuture<?> done, Object result) {
    ((CompletableFuture<Object>) done).complete(result instanceof Unit ? null : result);
  }

  /** The result of a change whose stage completes with null. */
  private enum Unit { INSTANCE }

  private Object apply(Change change) throws IOException {
    if (change instanceof Add add) {
      Document document = new Document();
      document.add(new StringField(ID, add.id(), Field.Store.YES));
      document.add(new StringField(PARTITION, add.partition().term(), Field.Store.NO));
      document.add(new KnnFloatVectorField(VECTOR, add.vector(),
          VectorSimilarityFunction.DOT_PRODUCT));
      writer.updateDocument(new Term(ID, add.id()), document);
      entries.remove(add.id());
      entries.put(add.id(), add.partition());
      Iterator<String> oldest = entries.keySet().iterator();
      while (entries.size() > maxEntries) {
        String evicted = oldest.next();
        oldest.remove();
        writer.deleteDocuments(new Term(ID, evicted));
      }
      return Unit.INSTANCE;
    } else if (change instanceof Remove remove) {
      boolean present = entries.remove(remove.id()) != null;
      if (present) {
        writer.deleteDocuments(new Term(ID, remove.id()));
      }
      return present;
    } else {
      RemoveIf removeIf = (RemoveIf) change;
      // The predicate first, once per partition, so that one that throws changes nothing.
      Set<Partition> purged = new HashSet<>();
      for (Partition partition : new HashSet<>(entries.values())) {
        if (removeIf.matches().test(partition)) {
          purged.add(partition);
        }
      }
      int removed = 0;
      for (Iterator<Partition> it = entries.values().iterator(); it.hasNext(); ) {
        if (purged.contains(it.next())) {
          it.remove();
          removed++;
        }
      }
      for (Partition partition : purged) {
        writer.deleteDocuments(new Term(PARTITION, partition.term()));
      }
      return removed;
    }
  }
}
