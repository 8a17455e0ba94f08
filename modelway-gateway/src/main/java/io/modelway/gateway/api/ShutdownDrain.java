package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import org.springframework.context.SmartLifecycle;

/**
 * The first thing a shutdown does (the highest lifecycle phase, so before the web server stops):
 * Spring Boot has already turned readiness to {@code REFUSING_TRAFFIC} (503) as the context began
 * to close; the server keeps listening, so load balancers can read that, while calls in progress
 * finish, up to {@code gateway.server.shutdown-grace}. Then the server stops at once
 * ({@code server.shutdown=immediate}) and the event loops close without a quiet period.
 */
final class ShutdownDrain implements SmartLifecycle {
  private final ServerEdge edge;
  private volatile boolean running;

  ShutdownDrain(ServerEdge edge) {
    this.edge = requireNonNull(edge, "edge");
  }

  @Override
  public void start() {
    running = true;
  }

  /** Blocks until no call is in progress or the grace period is over. */
  @Override
  public void stop() {
    if (running) {
      running = false;
      edge.drain(edge.options().shutdownGrace());
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return Integer.MAX_VALUE;
  }
}
