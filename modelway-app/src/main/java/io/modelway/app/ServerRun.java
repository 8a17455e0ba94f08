package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.catalog.ConfigException;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import picocli.CommandLine;

/** Runs the server until the process is asked to stop. */
final class ServerRun {
  private ServerRun() {}

  /**
   * Starts the server of {@code options}, calls {@code started} once it listens, and waits until
   * it stops; then closes the models of {@code options}.
   *
   * @return the exit code: 0, or 2 when the config is invalid
   */
  static int run(GatewayOptions options, CommandLine commandLine,
      Consumer<ConfigurableApplicationContext> started) {
    try (var models = options.models()) {
      ConfigurableApplicationContext context;
      try {
        context = GatewayRole.start(options);
      } catch (RuntimeException e) {
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof ConfigException)) {
          cause = cause.getCause();
        }
        if (cause instanceof ConfigException) {
          commandLine.getErr().println("modelway: invalid config: " + cause.getMessage());
          return 2;
        }
        throw e;
      }
      started.accept(context);
      return awaitClose(context);
    }
  }

  private static int awaitClose(ConfigurableApplicationContext context) {
    CountDownLatch closed = new CountDownLatch(1);
    context.addApplicationListener(event -> {
      if (event instanceof ContextClosedEvent) {
        closed.countDown();
      }
    });
    if (!context.isActive()) {
      return SpringApplication.exit(context);
    }
    try {
      closed.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }
}
