package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.http.HttpResources;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * The keep-alive connections that backends are called over: one pool per event loop, whose
 * connections all live on that loop, so that a call made on an event loop — as the gateway makes
 * them, on the loop that read the client's request — is sent, answered and relayed to the client
 * on that one thread.
 *
 * <p>Design note. Reactor Netty (1.3) keeps one pool per remote address (and channel
 * configuration, such as a connect timeout), and hands an idle connection to whichever caller
 * asks next, whatever loop it lives on: the acquisition then goes
 * on as a task on the connection's loop, and the answer is written to the client's channel as a
 * task back on the caller's — two wake-ups of another thread per call. Its colocation ({@link
 * LoopResources#colocate}) only places <em>new</em> connections on the caller's loop, and it has
 * no option that keeps reuse there for HTTP/1.1. So each event loop of the given {@link
 * LoopResources} gets a {@link ConnectionProvider} of its own and an {@link HttpClient} that runs
 * on that loop alone ({@link HttpClient#runOn(EventLoopGroup) runOn(loop)}), and {@link
 * LoopClients#current()} picks the calling thread's. A call from a thread that is not one of
 * these loops goes to each loop's pool in turn.
 *
 * <p>Each pool: keep-alive; at most {@link #maxConnectionsPerLoop()} connections to one remote
 * address — the limit per address divided evenly among the loops (rounded down, at least one), so
 * all loops together open at most that many, or one each when there are more loops than the
 * limit; a call beyond it waits (no limit on how many wait, each at most 60 s) for a connection of
 * its own loop's pool, even when another loop's has one free; idle connections are closed after
 * 60 s, looked for every 30 s.
 *
 * <p>Thread-safe. {@link #close()} closes every pool and its connections.
 */
public final class ConnectionPools implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConnectionPools.class);
  /** The longest a call waits for a connection when its pool is at its limit. */
  static final Duration PENDING_ACQUIRE_TIMEOUT = Duration.ofSeconds(60);
  /** An idle connection is closed after this long. */
  static final Duration MAX_IDLE_TIME = Duration.ofSeconds(60);
  /** How often idle connections are looked for. */
  static final Duration EVICTION_INTERVAL = Duration.ofSeconds(30);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  private final List<ConnectionProvider> providers;
  private final LoopClients clients;
  private final int maxConnectionsPerLoop;
  private final AtomicBoolean closed;

  private ConnectionPools(List<ConnectionProvider> providers, LoopClients clients,
      int maxConnectionsPerLoop, AtomicBoolean closed) {
    this.providers = List.copyOf(providers);
    this.closed = closed;
    this.clients = clients;
    this.maxConnectionsPerLoop = maxConnectionsPerLoop;
  }

  /**
   * Pools on the event loops of Reactor Netty's global {@link HttpResources}: those that the
   * server runs on as well, unless it was given loops of its own.
   *
   * @param maxConnections connections to one backend address, all loops together
   * @throws IllegalArgumentException when {@code maxConnections} is not positive
   */
  public static ConnectionPools create(int maxConnections) {
    return create(HttpResources.get(), maxConnections);
  }

  /**
   * Pools on the event loops of {@code loops} (its server loops, native transport when
   * available: the loops a Reactor Netty server given {@code loops} serves on).
   *
   * @param maxConnections connections to one backend address, all loops together
   * @throws IllegalArgumentException when {@code maxConnections} is not positive
   */
  public static ConnectionPools create(LoopResources loops, int maxConnections) {
    requireNonNull(loops, "loops");
    if (maxConnections <= 0) {
      throw new IllegalArgumentException(
          "maxConnections: " + maxConnections + " (expected: > 0)");
    }
    EventLoopGroup group = loops.onServer(LoopResources.DEFAULT_NATIVE);
    List<EventLoop> eventLoops = new ArrayList<>();
    for (EventExecutor executor : group) {
      if (!(executor instanceof EventLoop loop)) {
        throw new IllegalArgumentException(
            "loops: " + executor + " (expected: an EventLoopGroup of EventLoops)");
      }
      eventLoops.add(loop);
    }
    int perLoop = Math.max(1, maxConnections / eventLoops.size());
    AtomicBoolean closed = new AtomicBoolean();
    List<ConnectionProvider> providers = new ArrayList<>(eventLoops.size());
    List<HttpClient> clients = new ArrayList<>(eventLoops.size());
    for (int i = 0; i < eventLoops.size(); i++) {
      ConnectionProvider provider = ConnectionProvider.builder("modelway-backends-" + i)
          .maxConnections(perLoop)
          .pendingAcquireMaxCount(-1)
          .pendingAcquireTimeout(PENDING_ACQUIRE_TIMEOUT)
          .maxIdleTime(MAX_IDLE_TIME)
          .evictInBackground(EVICTION_INTERVAL)
          .build();
      providers.add(provider);
      clients.add(HttpClient.create(provider)
          .runOn(eventLoops.get(i))
          .keepAlive(true)
          .followRedirect(false)
          .compress(false));
    }
    // The transport Reactor Netty chose (io_uring, else epoll, else NIO), which the channel
    // class it makes for these loops names.
    String transport = loops.onChannelClass(SocketChannel.class, group).getSimpleName()
        .replace("SocketChannel", "");
    log.info("Netty event loops: {} on {}; at most {} connections to one backend address "
        + "from each", eventLoops.size(), transport, perLoop);
    return new ConnectionPools(providers, new LoopClients(eventLoops, clients, closed), perLoop,
        closed);
  }

  /** The clients of these pools, one per event loop. */
  public LoopClients clients() {
    return clients;
  }

  /** Connections each loop's pool may open to one remote address. */
  public int maxConnectionsPerLoop() {
    return maxConnectionsPerLoop;
  }

  /**
   * Closes every pool and its connections, waiting up to 10 s for them (a call on one of them
   * fails). {@link LoopClients#current()} throws from then on. Idempotent; not to be called on an
   * event loop.
   */
  @Override
  public void close() {
    // Reactor Netty would open a new pool for a call after this: the flag, read by every
    // LoopClients#current(), refuses such calls first.
    if (closed.compareAndSet(false, true)) {
      Mono.whenDelayError(providers.stream().map(ConnectionProvider::disposeLater).toList())
          .block(CLOSE_TIMEOUT);
    }
  }
}
