package io.modelway.app;

import io.modelway.backend.Backend;
import io.modelway.gateway.GatewayOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** The options that {@code up} and {@code gateway} share. */
final class GatewayFlags {
  @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT",
      description = "Port of the OpenAI-compatible API (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "0.0.0.0";

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where Modelway keeps its files (default: ~/.modelway).")
  @Nullable Path dataDir;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML config file, reloaded when it changes (default: DIR/modelway.yaml if it exists).")
  @Nullable Path config;

  @Option(names = "--upstream", paramLabel = "NAME=BASE_URL", mapFallbackValue = "",
      description = "An OpenAI-compatible backend; its models are called as NAME/<model>. Repeatable.")
  Map<String, URI> upstreams = new LinkedHashMap<>();

  @Option(names = "--upstream-key", paramLabel = "NAME=ENV_VAR",
      description = "Environment variable that holds upstream NAME's API key. Repeatable.")
  Map<String, String> upstreamKeys = new LinkedHashMap<>();

  GatewayOptions toOptions(Map<String, Backend> localModels) {
    Path dir = DataDir.orDefault(dataDir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data dir " + dir, e);
    }
    Optional<Path> file = Optional.ofNullable(config);
    Path fallback = dir.resolve("modelway.yaml");
    if (file.isEmpty() && Files.isRegularFile(fallback)) {
      file = Optional.of(fallback);
    }
    return new GatewayOptions(
        host, port, dir, file, upstreams, upstreamKeys, System::getenv, localModels);
  }
}
