package io.modelway.app;

import io.modelway.backend.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway}: the entry point of the binary. */
@Command(
    name = "modelway",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "An OpenAI-compatible LLM gateway and model worker for the JVM.",
    subcommands = {
        UpCommand.class,
        GatewayCommand.class,
        WorkerCommand.class,
        SimCommand.class,
        ModelsCommand.class,
        TenantsCommand.class,
        KeysCommand.class,
        PlansCommand.class,
        UsageCommand.class,
        PullCommand.class,
        Version.Command.class,
        CommandLine.HelpCommand.class})
public final class Modelway implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The command line with Modelway's converters registered. */
  public static CommandLine commandLine() {
    return commandLine(CommandLine.defaultFactory());
  }

  /** The command line, its commands made by {@code factory} (tests give their environment so). */
  static CommandLine commandLine(CommandLine.IFactory factory) {
    return new CommandLine(new Modelway(), factory)
        .registerConverter(java.time.Duration.class, Converters::duration);
  }

  /**
   * The Netty event loops on {@code cores} cores: one per core (Reactor Netty's default is at
   * least four, whose extra loops only add context switches), but one alone on two cores or
   * fewer, which leaves a core to the ledger's mover, the collector, the JIT and whatever else
   * runs beside the gateway: on two shared cores it carried more calls with a shorter tail than
   * two loops did (bench/README.md).
   */
  static int eventLoops(int cores) {
    return cores <= 2 ? 1 : cores;
  }

  public static void main(String[] args) {
    if (System.getProperty("reactor.netty.ioWorkerCount") == null) {
      System.setProperty("reactor.netty.ioWorkerCount",
          Integer.toString(eventLoops(Runtime.getRuntime().availableProcessors())));
    }
    // Netty's leak detector records the stack of one buffer in 128; with Reactor's deep stacks
    // that cost 1.5 % of the event loops' CPU a proxied call (bench/README.md). The tests run
    // with it (they do not start here); users turn it back on with
    // -Dio.netty.leakDetection.level=simple in MODELWAY_JAVA_OPTS.
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      System.setProperty("io.netty.leakDetection.level", "disabled");
    }
    // The event loops' transport: Reactor Netty's choice (io_uring, else epoll, else NIO) unless
    // MODELWAY_TRANSPORT names one.
    try {
      Transport.of(System.getenv(Transport.VARIABLE)).install();
    } catch (IllegalArgumentException | IllegalStateException e) {
      System.err.println("modelway: " + e.getMessage());
      System.exit(2);
    }
    int code = commandLine().execute(args);
    System.exit(code);
  }
}
