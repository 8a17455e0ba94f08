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
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
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

  @Option(names = "--json", description = "Print a JSON list, for scripts.")
  boolean json;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    Path dir = DataDir.orDefault(dataDir).resolve("models");
    PrintWriter out = spec.commandLine().getOut();
    List<Path> files = List.of();
    if (Files.isDirectory(dir)) {
      try (Stream<Path> walk = Files.walk(dir)) {
        files = walk.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf"))
            .filter(Files::isRegularFile)
            .sorted()
            .toList();
      }
    }
    ArrayNode list = JsonMapper.builder().build().createArrayNode();
    Table table = new Table("MODEL", "SIZE>", "ARCH", "QUANT", "CONTEXT>");
    for (Path file : files) {
      String name = dir.relativize(file).toString();
      ObjectNode row = list.addObject().put("name", name).put("path", file.toString());
      try {
        GgufHeader h = GgufHeader.read(file);
        row.put("size_bytes", h.fileSize()).put("architecture", h.architecture())
            .put("quantization", h.quantization());
        h.contextLength().ifPresent(c -> row.put("context_length", c));
        table.row(name, humanSize(h.fileSize()), h.architecture(), h.quantization(),
            h.contextLength().isPresent() ? Long.toString(h.contextLength().getAsLong()) : null);
      } catch (ModelLoadException e) {
        row.put("size_bytes", Files.size(file)).put("error", e.getMessage());
        table.row(name, humanSize(Files.size(file)), "unreadable: " + e.getMessage(), null, null);
      }
    }
    if (json) {
      out.println(list);
    } else if (!Files.isDirectory(dir)) {
      out.println("No models yet: " + dir + " does not exist.");
    } else if (files.isEmpty()) {
      out.println("No models yet: no .gguf file in " + dir + ".");
    } else {
      out.println(table);
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
