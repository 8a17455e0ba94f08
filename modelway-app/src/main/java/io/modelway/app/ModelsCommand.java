package io.modelway.app;

import io.modelway.runtime.llama.GgufHeader;
import io.modelway.runtime.llama.ModelLoadException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code modelway models}: the GGUF files in the data dir, read from their headers. */
@Command(name = "models", footer = {"", "Example:", "  modelway models --data-dir ~/.modelway"},
    mixinStandardHelpOptions = true,
    description = "List the GGUF models in DIR/models: size, architecture, quantization, context length.")
final class ModelsCommand implements Callable<Integer> {
  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where Modelway keeps its files (default: ~/.modelway).")
  @Nullable Path dataDir;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    Path dir = DataDir.orDefault(dataDir).resolve("models");
    PrintWriter out = spec.commandLine().getOut();
    if (!Files.isDirectory(dir)) {
      out.println("No models yet: " + dir + " does not exist.");
      return 0;
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf"))
          .filter(Files::isRegularFile)
          .sorted()
          .toList();
    }
    if (files.isEmpty()) {
      out.println("No models yet: no .gguf file in " + dir + ".");
      return 0;
    }
    String format = "%-48s %10s %-12s %-10s %8s%n";
    out.printf(format, "MODEL", "SIZE", "ARCH", "QUANT", "CONTEXT");
    for (Path file : files) {
      String name = dir.relativize(file).toString();
      try {
        GgufHeader h = GgufHeader.read(file);
        out.printf(format, name, humanSize(h.fileSize()), h.architecture(), h.quantization(),
            h.contextLength().isPresent() ? Long.toString(h.contextLength().getAsLong()) : "-");
      } catch (ModelLoadException e) {
        out.printf("%-48s %10s unreadable: %s%n", name, humanSize(Files.size(file)), e.getMessage());
      }
    }
    out.flush();
    return 0;
  }

  static String humanSize(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
