package io.modelway.app;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code modelway help [COMMAND…]}: the help of a command, as {@code COMMAND --help} prints it.
 * An unknown command is an error (exit code 2), not the top-level usage.
 */
@Command(name = "help", description = "Show the help of a command.",
    footer = {"", "Example:", "  modelway help keys rotate"})
final class HelpCommand implements Callable<Integer> {
  @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "A command and subcommands.")
  List<String> path = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine at = spec.parent().commandLine();
    for (String word : path) {
      CommandLine next = at.getSubcommands().get(word);
      if (next == null) {
        spec.commandLine().getErr().println("modelway: unknown command '" + word + "' for '"
            + at.getCommandSpec().qualifiedName() + "'; see '"
            + at.getCommandSpec().qualifiedName() + " --help'");
        return 2;
      }
      at = next;
    }
    at.usage(spec.commandLine().getOut());
    return 0;
  }
}
