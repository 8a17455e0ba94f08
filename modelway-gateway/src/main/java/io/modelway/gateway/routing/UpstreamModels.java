package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.OpenAiHttpBackend;
import io.modelway.gateway.catalog.Catalog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model lists of the configured backends, each fetched from the backend's own
 * {@code GET /v1/models} and kept for {@link #FRESH}: a backend serves any model as
 * {@code BACKEND/MODEL}, and these lists say which ones it has.
 *
 * <p>Fails open: a fetch that fails or is slow never fails a listing. A list older than
 * {@link #FRESH} is served as it is (marked stale) while one fetch refreshes it in the background;
 * a backend never fetched yet is waited for up to the deadline the caller gives, then left out.
 * A failed fetch is logged at WARN and retried no sooner than {@link #RETRY}, so the log gets at
 * most one line per backend per {@code RETRY}. Thread-safe: one immutable state per backend in a
 * concurrent map, replaced whole.
 */
public final class UpstreamModels {
  /** How long a fetched list is served as fresh. */
  public static final Duration FRESH = Duration.ofMinutes(5);
  /** How long after a failed fetch the next one may start. */
  public static final Duration RETRY = Duration.ofSeconds(30);
  /** How long one fetch may take, connection included. */
  public static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);

  private static final Logger log = LoggerFactory.getLogger(UpstreamModels.class);

  /**
   * One backend's list as a listing shows it.
   *
   * @param models the upstream's model ids, without the backend's prefix
   * @param stale whether the list is older than {@link #FRESH} or its last refresh failed
   */
  public record Listing(String backend, List<String> models, boolean stale) {
    public Listing {
      requireNonNull(backend, "backend");
      models = List.copyOf(requireNonNull(models, "models"));
    }
  }

  /** What is known of one backend: its last list (if any), when, and a fetch under way. */
  private record State(OpenAiHttpBackend client, Optional<List<String>> models, Instant fetched,
      Instant retryAt, Optional<CompletableFuture<List<String>>> fetching) {}

  private final ConcurrentMap<String, State> states = new ConcurrentHashMap<>();
  private final Clock clock;

  public UpstreamModels(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * The lists of every backend of {@code catalog}, in backend order, completing within about
   * {@code firstWait}: a backend whose first fetch has not answered by then is left out.
   */
  public CompletionStage<List<Listing>> lists(Catalog catalog, Duration firstWait) {
    requireNonNull(catalog, "catalog");
    requireNonNull(firstWait, "firstWait");
    List<CompletableFuture<Optional<Listing>>> each = new ArrayList<>();
    for (String name : catalog.backends()) {
      catalog.backend(name).ifPresent(client -> each.add(listing(name, client, firstWait)));
    }
    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
        .thenApply(done -> each.stream().map(CompletableFuture::join)
            .flatMap(Optional::stream).toList());
  }

  /** The lists fetched so far, without waiting or fetching: for hints on the error path. */
  public Map<String, List<String>> known() {
    Map<String, List<String>> known = new TreeMap<>();
    states.forEach((name, state) -> state.models().ifPresent(models -> known.put(name, models)));
    return known;
  }

  private CompletableFuture<Optional<Listing>> listing(String name, OpenAiHttpBackend client,
      Duration firstWait) {
    Instant now = clock.instant();
    CompletableFuture<List<String>> fetch = new CompletableFuture<>();
    // Completes once finish() has recorded the outcome, so whoever waits on it sees it recorded.
    CompletableFuture<List<String>> mine =
        fetch.whenComplete((models, failure) -> finish(name, client, models, failure));
    State state = states.compute(name, (n, old) -> {
      if (old == null || old.client() != client) { // new, or replaced by a config reload
        return new State(client, Optional.empty(), Instant.EPOCH, Instant.EPOCH,
            Optional.of(mine));
      }
      boolean due = old.models().isEmpty() || !now.isBefore(old.fetched().plus(FRESH));
      if (due && old.fetching().isEmpty() && !now.isBefore(old.retryAt())) {
        return new State(client, old.models(), old.fetched(), old.retryAt(), Optional.of(mine));
      }
      return old;
    });
    if (state.fetching().filter(f -> f == mine).isPresent()) {
      // Started outside compute(), which must not see its own key updated by a quick failure.
      client.listModels(FETCH_TIMEOUT).subscribe(fetch::complete, fetch::completeExceptionally);
    }
    if (state.models().isPresent()) {
      boolean stale = !now.isBefore(state.fetched().plus(FRESH))
          || state.retryAt().isAfter(state.fetched());
      return CompletableFuture.completedFuture(
          Optional.of(new Listing(name, state.models().get(), stale)));
    }
    return state.fetching()
        .map(waiting -> waiting
            .thenApply(models -> Optional.of(new Listing(name, models, false)))
            .completeOnTimeout(Optional.empty(), firstWait.toMillis(), TimeUnit.MILLISECONDS)
            .exceptionally(failure -> Optional.empty()))
        .orElseGet(() -> CompletableFuture.completedFuture(Optional.empty()));
  }

  private void finish(String name, OpenAiHttpBackend client, @Nullable List<String> models,
      @Nullable Throwable failure) {
    Instant now = clock.instant();
    if (failure != null) {
      log.warn("backend {}: could not fetch its model list from {}/models ({}); GET /v1/models "
              + "shows its last list, if any, as stale until a retry in {}s succeeds", name,
          client.baseUrl(), failure.toString(), RETRY.toSeconds());
    }
    states.computeIfPresent(name, (n, old) -> {
      if (old.client() != client) {
        return old; // superseded by a config reload
      }
      return failure == null
          ? new State(client, Optional.ofNullable(models), now, now, Optional.empty())
          : new State(client, old.models(), old.fetched(), now.plus(RETRY), Optional.empty());
    });
  }
}
