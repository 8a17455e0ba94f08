package io.modelway.gateway;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.Backend;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * How the gateway role was started: what {@code modelway up} and {@code modelway gateway} take on
 * the command line.
 *
 * @param host the address to listen on
 * @param port the port to listen on; 0 picks a free one
 * @param dataDir where the gateway keeps its files
 * @param configFile the YAML config file, watched for changes; none means no models yet
 * @param upstreams backends given as {@code --upstream NAME=BASE_URL}
 * @param upstreamKeys for each upstream, the environment variable holding its API key
 * @param environment looks up environment variables (API keys); {@code System::getenv} in production
 * @param localModels models served in this process, by public name, called without an HTTP hop;
 *     their lifecycle is the caller's
 */
public record GatewayOptions(
    String host,
    int port,
    Path dataDir,
    Optional<Path> configFile,
    Map<String, URI> upstreams,
    Map<String, String> upstreamKeys,
    Function<String, @Nullable String> environment,
    Map<String, Backend> localModels) {

  public GatewayOptions {
    requireNonNull(host, "host");
    requireNonNull(dataDir, "dataDir");
    requireNonNull(configFile, "configFile");
    upstreams = Map.copyOf(requireNonNull(upstreams, "upstreams"));
    upstreamKeys = Map.copyOf(requireNonNull(upstreamKeys, "upstreamKeys"));
    requireNonNull(environment, "environment");
    localModels = Map.copyOf(requireNonNull(localModels, "localModels"));
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
    }
  }
}
