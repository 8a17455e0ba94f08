package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.catalog.ConfigException;
import io.modelway.runtime.ModelHost;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import picocli.CommandLine;

/** Runs the server until the process is asked to stop. */
final class ServerRun {
  private static final Logger log = LoggerFactory.getLogger(ServerRun.class);

  /** The exit code of a start-up refused: a bad config, a busy port or data dir. */
  static final int REFUSED = 2;

  private ServerRun() {}

  /**
   * Checks what can be checked at once ({@link StartupChecks}), then starts the models of
   * {@code models} and the server of {@code options}, calls {@code started} once it listens
   * (with the options it runs with), logs the start-up summary, and waits until it stops; then
   * closes the models and lets go of the data dir.
   *
   * @param debug print stack traces of failures and log Modelway at DEBUG, the libraries at INFO
   * @return the exit code: 0; {@value #REFUSED} when a start-up check or the config failed, with
   *     one line on standard error; 1 when the server failed to start otherwise
   */
  static int run(GatewayOptions options, Supplier<ModelHost> models, CommandLine commandLine,
      boolean debug, BiConsumer<ConfigurableApplicationContext, GatewayOptions> started) {
    if (debug) {
      debugLogging();
    }
    Optional<StartupChecks.DataDirLock> lock;
    try {
      lock = StartupChecks.run(options);
    } catch (StartupChecks.Refusal e) {
      return fail(commandLine, e.getMessage(), e, debug, REFUSED);
    }
    try (Release held = () -> lock.ifPresent(StartupChecks.DataDirLock::close);
        ModelHost host = models.get()) {
      GatewayOptions running = options.withModels(host);
      boolean firstStart = StartupSummary.isFirstStart(running);
      ConfigurableApplicationContext context;
      try {
        context = GatewayRole.start(running);
      } catch (RuntimeException e) {
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof ConfigException)) {
          cause = cause.getCause();
        }
        if (cause instanceof ConfigException) {
          return fail(commandLine, "invalid config: " + cause.getMessage(), e, debug, REFUSED);
        }
        return fail(commandLine, "could not start: " + cause, e, debug, 1);
      }
      started.accept(context, running);
      if (context.isActive()) {
        log.info(StartupSummary.of(context, running, firstStart, Version.current(),
            Duration.ofMillis(ManagementFactory.getRuntimeMXBean().getUptime())));
      }
      return awaitClose(context);
    }
  }

  /** Something to let go of at the end, without a checked exception. */
  private interface Release extends AutoCloseable {
    @Override
    void close();
  }

  /** One line on standard error; the stack trace too with {@code --debug}. */
  private static int fail(CommandLine commandLine, String message, Throwable e, boolean debug,
      int code) {
    var err = commandLine.getErr();
    err.println("modelway: " + message
        + (debug || code == REFUSED ? "" : " (run with --debug for the stack trace)"));
    if (debug) {
      e.printStackTrace(err);
    }
    err.flush();
    return code;
  }

  /**
   * Modelway's loggers at DEBUG, and the libraries that logback.xml keeps at WARN back at INFO.
   * System properties, which Spring Boot's logging reads as it starts.
   */
  private static void debugLogging() {
    System.setProperty("logging.level.io.modelway", "debug");
    for (String library : new String[] {"org.flywaydb", "com.zaxxer.hikari",
        "org.springframework.boot", "org.springframework.boot.SpringApplication",
        "reactor.netty", "io.netty"}) {
      System.setProperty("logging.level." + library, "info");
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
