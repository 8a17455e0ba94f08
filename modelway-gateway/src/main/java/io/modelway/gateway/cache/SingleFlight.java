package io.modelway.gateway.cache;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Identical requests in flight at once: the first leads and calls the model; the others follow
 * and get the leader's answer, or nothing when the leader got none (an error, a cancelled call),
 * and then call the model themselves. Thread-safe; followers never wait longer than the
 * leader's call, which has its deadlines.
 */
final class SingleFlight {
  private final ConcurrentMap<CacheKey, CompletableFuture<Optional<byte[]>>> flights =
      new ConcurrentHashMap<>();

  /** One request's place in a flight: the leader's {@link #land}, or a follower's wait. */
  final class Seat {
    private final CacheKey key;
    private final CompletableFuture<Optional<byte[]>> flight;
    private final boolean leads;

    private Seat(CacheKey key, CompletableFuture<Optional<byte[]>> flight, boolean leads) {
      this.key = key;
      this.flight = flight;
      this.leads = leads;
    }

    boolean leads() {
      return leads;
    }

    /** The leader's answer, for a follower. */
    CompletableFuture<Optional<byte[]>> answer() {
      return flight;
    }

    /** Ends the flight with the leader's answer (or none); once, later calls do nothing. */
    void land(Optional<byte[]> answer) {
      if (leads && flight.complete(answer)) {
        flights.remove(key, flight);
      }
    }
  }

  Seat join(CacheKey key) {
    CompletableFuture<Optional<byte[]>> mine = new CompletableFuture<>();
    CompletableFuture<Optional<byte[]>> theirs = flights.putIfAbsent(key, mine);
    return theirs == null ? new Seat(key, mine, true) : new Seat(key, theirs, false);
  }

  /** Flights in the air. */
  int size() {
    return flights.size();
  }
}
