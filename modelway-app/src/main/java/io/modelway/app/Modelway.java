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
    footer = {"", "Examples:",
        "  modelway up                                   # everything in one process on :8080",
        "  modelway sim --port 8000 &  modelway up --upstream sim=http://127.0.0.1:8000/v1",
        "  modelway help keys create                     # the help of one command"},
    subcommands = {
        UpCommand.class,
        GatewayCommand.class,
        WorkerCommand.class,
        SimCommand.class,
        ModelsCommand.class,
        TenantsCommand.class,
        KeysCommand.class,
        PlansCommand.class,
        PricesCommand.class,
        UsageCommand.class,
        PsCommand.class,
        PullCommand.class,
        Version.Command.class,
        HelpCommand.class})
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
        .registerConverter(java.time.Duration.class, Converters::duration)
        .setParameterExceptionHandler(Modelway::badArguments);
  }

  /**
   * A command line it cannot parse: one line that says what is wrong, what was probably meant,
   * and where to read more, on standard error; exit code 2. No usage page: it would bury the
   * line that matters.
   */
  static int badArguments(CommandLine.ParameterException e, String[] args) {
    CommandLine at = e.getCommandLine();
    String name = at.getCommandSpec().qualifiedName();
    String problem = e.getMessage();
    java.util.List<String> suggestions = java.util.List.of();
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched) {
      suggestions = unmatched.getSuggestions();
      java.util.List<String> words = unmatched.getUnmatched();
      String first = words.isEmpty() ? "" : words.get(0);
      if (!at.getSubcommands().isEmpty() && !first.startsWith("-")) {
        problem = "unknown command '" + first + "' for '" + name + "'";
      }
    }
    StringBuilder line = new StringBuilder("modelway: ")
        .append(Character.toLowerCase(problem.charAt(0))).append(problem.substring(1));
    if (line.charAt(line.length() - 1) == '.') {
      line.setLength(line.length() - 1);
    }
    if (!suggestions.isEmpty()) {
      line.append(" (did you mean '").append(String.join("' or '", suggestions)).append("'?)");
    }
    line.append("; see '").append(name).append(" --help'");
    at.getErr().println(line);
    at.getErr().flush();
    return 2;
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
