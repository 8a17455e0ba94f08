package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.netty.channel.Channel;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.time.Duration;
import java.util.Iterator;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.NettyPipeline;
import reactor.netty.http.server.HttpServer;

/**
 * The HTTP server's edges, shared by all its connections: how many may be open, how long each may
 * wait for a request, and the drain at shutdown.
 *
 * <ul>
 *   <li>Open connections are counted from accept to close. One past {@link #maxConnections()}
 *       makes room by closing the oldest connection that waits for a request (idle, or still
 *       sending a request's head), as nginx reuses its idle keep-alive connections when it runs
 *       out; when every connection has a request in progress, the new one is closed at once
 *       instead. Either is counted, and logged at most once every {@value #LOG_INTERVAL_SECONDS}
 *       s. So a flood of connections cannot take the file descriptors the rest of the process
 *       needs (the ledger's files, the store, the config watcher, the backends' and JWKS
 *       connections), and callers with a request to send still get in.
 *   <li>Timeouts: Reactor Netty's own {@code idleTimeout} (no request in progress) and
 *       {@code requestTimeout} (the body, from the end of the head); the head's deadline, which
 *       neither covers (Reactor Netty's idle timer restarts on every byte, so a head sent a byte at
 *       a time never ends it), is {@link EdgeHandler}'s.
 *   <li>Drain: {@link #drain(Duration)} marks new requests {@code Connection: close} and waits
 *       until no request is in progress, or the grace period is over.
 * </ul>
 *
 * <p>Thread-safe: connections on every event loop share one instance.
 */
final class ServerEdge {
  private static final Logger log = LoggerFactory.getLogger(ServerEdge.class);
  static final long LOG_INTERVAL_SECONDS = 10;
  /** Descriptors kept for the process itself at most, when the cap is worked out from the limit. */
  static final long MAX_RESERVE = 1024;

  private final ModelwayConfig.Server options;
  private final int maxConnections;
  private final LongSupplier nanoTime;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Counter refused;
  private final Counter evicted;
  /**
   * Admitted connections in the order they came, for eviction: each is polled at most once per
   * eviction attempt, put back when it has a request in progress, dropped once found closed, and
   * purged when closed ones pile up ({@link #purgeClosed()}).
   */
  private final ConcurrentLinkedQueue<EdgeHandler> admitted = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicLong evictedSinceLog = new AtomicLong();
  private final Counter headTimeouts;
  private final AtomicLong refusedSinceLog = new AtomicLong();
  private final AtomicLong lastLog;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  private volatile boolean draining;

  /**
   * @param fileLimit the process's open-file limit, when known: the default cap is derived from it
   */
  ServerEdge(ModelwayConfig.Server options, OptionalLong fileLimit, MeterRegistry meters,
      LongSupplier nanoTime) {
    this.options = requireNonNull(options, "options");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.maxConnections = options.maxConnections() != null ? options.maxConnections()
        : defaultMaxConnections(fileLimit);
    this.lastLog = new AtomicLong(nanoTime.getAsLong() - TimeUnit.SECONDS.toNanos(2 * LOG_INTERVAL_SECONDS));
    Gauge.builder("modelway.http.connections", open, AtomicInteger::get)
        .description("Client connections open to the HTTP server").register(meters);
    Gauge.builder("modelway.http.connections.max", () -> this.maxConnections)
        .description("The most client connections the HTTP server keeps open at once")
        .register(meters);
    refused = Counter.builder("modelway.http.connections.refused")
        .description("New client connections closed at once: the server had its most open, each"
            + " with a request in progress")
        .register(meters);
    evicted = Counter.builder("modelway.http.connections.evicted")
        .description("Connections waiting for a request closed to make room for a new one")
        .register(meters);
    headTimeouts = Counter.builder("modelway.http.request.head.timeouts")
        .description("Connections closed because a request's head did not arrive in time")
        .register(meters);
  }

  /**
   * The cap on open connections when none is configured: half of what the open-file limit leaves
   * after a reserve for the rest of the process (a quarter of the limit, at most
   * {@value #MAX_RESERVE}) — half, because each call a connection carries can hold a second
   * descriptor, its connection to the backend. 9,488 at a limit of 20,000; 523,776 at 1,048,576;
   * 384 at 1,024. Unknown limit (not a Unix JVM): 10,000.
   */
  static int defaultMaxConnections(OptionalLong fileLimit) {
    if (fileLimit.isEmpty() || fileLimit.getAsLong() <= 0) {
      return 10_000;
    }
    long limit = fileLimit.getAsLong();
    long reserve = Math.min(MAX_RESERVE, limit / 4);
    return (int) Math.max(1, Math.min(10_000_000, (limit - reserve) / 2));
  }

  /**
   * The process's open-file limit (the soft one, which HotSpot raises to the hard one at start on
   * Linux unless {@code -XX:-MaxFDLimit}), when the JVM can tell.
   */
  static OptionalLong fileLimit() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return OptionalLong.of(unix.getMaxFileDescriptorCount());
    }
    return OptionalLong.empty();
  }

  ModelwayConfig.Server options() {
    return options;
  }

  int maxConnections() {
    return maxConnections;
  }

  /** Connections open now. */
  int open() {
    return open.get();
  }

  /** Requests read and not yet answered, over all connections. */
  int inFlight() {
    return inFlight.get();
  }

  boolean draining() {
    return draining;
  }

  /**
   * {@code server} with these edges: its timeouts, the cap on connections, and each connection's
   * {@link EdgeHandler} and {@link ConnectionCloseHandler} behind the HTTP codec.
   */
  HttpServer apply(HttpServer server) {
    int maxLine = server.configuration().decoder().maxInitialLineLength();
    int maxHeaders = server.configuration().decoder().maxHeaderSize();
    return server
        .idleTimeout(options.idleTimeout())
        .requestTimeout(options.requestBodyTimeout())
        .doOnChannelInit((observer, channel, remoteAddress) -> {
          boolean http = channel.pipeline().get(NettyPipeline.HttpCodec) != null;
          EdgeHandler edge = http ? new EdgeHandler(this, maxLine, maxHeaders) : null;
          if (!admit(channel, edge)) {
            return;
          }
          if (edge != null) {
            channel.pipeline()
                .addBefore(NettyPipeline.HttpCodec, EdgeHandler.BYTES_NAME, edge.bytes())
                .addAfter(NettyPipeline.HttpCodec, EdgeHandler.NAME, edge)
                .addAfter(EdgeHandler.NAME, ConnectionCloseHandler.NAME,
                    new ConnectionCloseHandler());
          }
        });
  }

  /**
   * Counts {@code channel} open until it closes. Past the cap, closes the oldest connection
   * waiting for a request to make room, or else {@code channel} itself.
   *
   * @param edge its handler, which tells whether it waits for a request; none: never evicted
   * @return whether {@code channel} stays open
   */
  boolean admit(Channel channel, @Nullable EdgeHandler edge) {
    if (open.incrementAndGet() > maxConnections) {
      EdgeHandler victim = waitingVictim();
      if (victim == null) {
        open.decrementAndGet();
        channel.config().setAutoRead(false);
        channel.close();
        refused.increment();
        refusedSinceLog.incrementAndGet();
        logCap();
        return false;
      }
      victim.evict(); // its close counts it out
      evicted.increment();
      evictedSinceLog.incrementAndGet();
      logCap();
    }
    channel.closeFuture().addListener(f -> open.decrementAndGet());
    if (edge != null) {
      admitted.add(edge);
      if (queued.incrementAndGet() > 2 * open.get() + 1024) {
        purgeClosed();
      }
    }
    return true;
  }

  /**
   * Drops closed connections from the queue: run when it holds twice as many as are open (plus
   * 1024), so it costs O(1) a connection and keeps few closed ones from being collected.
   */
  private void purgeClosed() {
    for (Iterator<EdgeHandler> i = admitted.iterator(); i.hasNext(); ) {
      if (i.next().closed()) {
        i.remove();
        queued.decrementAndGet();
      }
    }
  }

  /** The oldest admitted connection that waits for a request, taken out of the queue; or none. */
  private @Nullable EdgeHandler waitingVictim() {
    for (int i = 0; i < 64; i++) {
      EdgeHandler e = admitted.poll();
      if (e == null) {
        return null;
      }
      queued.decrementAndGet();
      if (e.closed()) {
        continue;
      }
      if (e.waiting()) {
        return e;
      }
      admitted.add(e);
      queued.incrementAndGet();
    }
    return null;
  }

  private void logCap() {
    long now = nanoTime.getAsLong();
    long last = lastLog.get();
    if (now - last >= TimeUnit.SECONDS.toNanos(LOG_INTERVAL_SECONDS)
        && lastLog.compareAndSet(last, now)) {
      long closedIdle = evictedSinceLog.getAndSet(0);
      long closedNew = refusedSinceLog.getAndSet(0);
      log.warn("{} connections open, the most this server keeps (gateway.server.max-connections):"
          + " since the last such line, closed {} waiting for a request to make room, and {} new"
          + " one(s) at once (every open one had a request in progress)", maxConnections,
          closedIdle, closedNew);
    }
  }

  void requestStarted() {
    inFlight.incrementAndGet();
  }

  void requestsEnded(int count) {
    if (inFlight.addAndGet(-count) == 0 && draining) {
      drained.complete(null);
    }
  }

  void headTimedOut() {
    headTimeouts.increment();
  }

  /**
   * Starts the drain: new requests are answered with {@code Connection: close}; once no request is
   * in progress, or after {@code grace}, whichever is first, closes every connection (idle
   * keep-alive ones, and past the grace those with a call still running), so that the server then
   * stops at once instead of waiting on them.
   *
   * @return whether every request ended within the grace period
   */
  boolean drain(Duration grace) {
    try {
      return awaitDrained(grace);
    } finally {
      for (EdgeHandler edge : admitted) {
        if (!edge.closed()) {
          edge.evict();
        }
      }
    }
  }

  private boolean awaitDrained(Duration grace) {
    draining = true;
    int calls = inFlight.get();
    if (calls == 0) {
      drained.complete(null);
    }
    long started = nanoTime.getAsLong();
    log.info("Shutting down: readiness is now 503; {} call(s) in progress may take up to {} ms"
        + " to finish (gateway.server.shutdown-grace)", calls, grace.toMillis());
    try {
      drained.get(grace.toNanos(), TimeUnit.NANOSECONDS);
      log.info("Shutting down: no call in progress after {} ms",
          TimeUnit.NANOSECONDS.toMillis(nanoTime.getAsLong() - started));
      return true;
    } catch (TimeoutException e) {
      log.warn("Shutting down: the grace period of {} ms is over; closing {} call(s) still in"
          + " progress", grace.toMillis(), inFlight.get());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The start-up line that says what the edges are. */
  String describe(OptionalLong fileLimit) {
    return "HTTP server: at most " + maxConnections + " connections"
        + (options.maxConnections() != null ? " (gateway.server.max-connections)"
            : fileLimit.isPresent() ? " (from the open-file limit " + fileLimit.getAsLong() + ")"
                : "")
        + "; idle " + options.idleTimeout().toMillis() + " ms, request head "
        + options.requestHeadTimeout().toMillis() + " ms, request body "
        + options.requestBodyTimeout().toMillis() + " ms; shutdown grace "
        + options.shutdownGrace().toMillis() + " ms";
  }
}
