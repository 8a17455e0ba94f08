package io.modelway.backend;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import reactor.netty.http.client.HttpClient;

/**
 * One {@link HttpClient} per event loop of a {@link ConnectionPools}, each running on its loop
 * alone with that loop's connection pool. {@link #current()} gives the calling thread's, so a call
 * made on an event loop is sent and answered on that thread.
 *
 * <p>Immutable and thread-safe.
 */
public final class LoopClients {
  private final EventLoop[] loops;
  private final HttpClient[] clients;
  private final AtomicBoolean closed;
  private final AtomicInteger next = new AtomicInteger();

  LoopClients(List<EventLoop> loops, List<HttpClient> clients, AtomicBoolean closed) {
    if (loops.isEmpty() || loops.size() != clients.size()) {
      throw new IllegalArgumentException("loops: " + loops.size() + ", clients: "
          + clients.size() + " (expected: as many clients as loops, at least one)");
    }
    this.loops = loops.toArray(EventLoop[]::new);
    this.clients = clients.toArray(HttpClient[]::new);
    this.closed = requireNonNull(closed, "closed");
  }

  /**
   * The client whose connections live on the calling thread's event loop; on any other thread,
   * each loop's client in turn.
   *
   * @throws IllegalStateException when the pools are closed
   */
  public HttpClient current() {
    if (closed.get()) {
      throw new IllegalStateException("The connection pools to backends are closed.");
    }
    // A few loops (one per core): comparing threads beats any map lookup.
    for (int i = 0; i < loops.length; i++) {
      if (loops[i].inEventLoop()) {
        return clients[i];
      }
    }
    return clients[Math.floorMod(next.getAndIncrement(), clients.length)];
  }

  /**
   * These clients, each configured by {@code configure} (a backend's connect timeout, say); they
   * share the same pools, but a configuration that changes the channel's options (as a connect
   * timeout does) gets pools of its own inside them (Reactor Netty keys a pool by remote address
   * and channel configuration).
   */
  public LoopClients map(UnaryOperator<HttpClient> configure) {
    requireNonNull(configure, "configure");
    HttpClient[] configured = new HttpClient[clients.length];
    for (int i = 0; i < clients.length; i++) {
      configured[i] = requireNonNull(configure.apply(clients[i]), "configured client");
    }
    return new LoopClients(List.of(loops), List.of(configured), closed);
  }

  /** How many event loops, and so clients, there are. */
  public int size() {
    return loops.length;
  }
}
