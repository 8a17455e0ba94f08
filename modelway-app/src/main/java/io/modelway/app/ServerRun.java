package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.catalog.ConfigException;
import java.util.concurrent.CountDownLatch;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import picocli.CommandLine;

/** Runs a Spring-based role until the process is asked to stop. */
final class ServerRun {
  private ServerRun() {}

  /**
   * Runs the gateway role with {@code models} until the process stops, then closes the models.
   *
   * @return the exit code: 0, or 2 when the config is invalid
   */
  static int gateway(GatewayOptions options, LocalModels models, CommandLine commandLine) {
    try (models) {
      return gateway(options, commandLine);
    }
  }

  static int gateway(GatewayOptions options, CommandLine commandLine) {
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
    return awaitClose(context);
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
