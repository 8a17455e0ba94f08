package io.modelway.backend;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUring;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.HttpResources;
import reactor.netty.resources.LoopResources;

/**
 * The I/O transport of the process's Netty event loops, which the server and the backend client
 * share: {@code auto} lets Reactor Netty pick (io_uring where the kernel allows it, else epoll,
 * else NIO); {@code io_uring}, {@code epoll} and {@code nio} insist on one, and fail at start-up
 * when it is not available here. Chosen once, before any server or client starts
 * ({@code MODELWAY_TRANSPORT}).
 */
public enum Transport {
  AUTO, IO_URING, EPOLL, NIO;

  /** The environment variable that names it. */
  public static final String VARIABLE = "MODELWAY_TRANSPORT";

  /** The transport {@code name} names ({@code auto} when null or blank). */
  public static Transport of(@Nullable String name) {
    if (name == null || name.isBlank()) {
      return AUTO;
    }
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(VARIABLE + "=" + name
          + " is not a transport: use auto, io_uring, epoll or nio");
    }
  }

  /**
   * Makes this the transport of Reactor Netty's global event loops ({@link HttpResources}), as
   * many as Reactor Netty's own default loops would be ({@code reactor.netty.ioWorkerCount}).
   *
   * @throws IllegalStateException when this transport cannot run here
   */
  public void install() {
    IoHandlerFactory handlers;
    switch (this) {
      case AUTO -> {
        return;
      }
      case IO_URING -> {
        if (!IoUring.isAvailable()) {
          throw unavailable(IoUring.unavailabilityCause());
        }
        return; // Reactor Netty prefers it whenever it is available
      }
      case EPOLL -> {
        if (!Epoll.isAvailable()) {
          throw unavailable(Epoll.unavailabilityCause());
        }
        handlers = EpollIoHandler.newFactory();
      }
      default -> handlers = NioIoHandler.newFactory();
    }
    HttpResources.set(new Loops(new MultiThreadIoEventLoopGroup(
        LoopResources.DEFAULT_IO_WORKER_COUNT,
        new DefaultThreadFactory("reactor-http-" + name().toLowerCase(Locale.ROOT), true),
        handlers)));
  }

  private IllegalStateException unavailable(Throwable cause) {
    return new IllegalStateException(VARIABLE + "=" + name().toLowerCase(Locale.ROOT)
        + ", but it cannot run here: " + cause.getMessage(), cause);
  }

  /** One group for accepting, serving and calling out, as Reactor Netty's default loops do. */
  private record Loops(MultiThreadIoEventLoopGroup group) implements LoopResources {
    @Override
    public MultiThreadIoEventLoopGroup onServer(boolean useNative) {
      return group;
    }

    @Override
    public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
      return Mono.defer(() -> {
        group.shutdownGracefully(quietPeriod.toMillis(), timeout.toMillis(),
            TimeUnit.MILLISECONDS);
        return Mono.empty();
      });
    }

    @Override
    public boolean isDisposed() {
      return group.isShuttingDown();
    }
  }
}
