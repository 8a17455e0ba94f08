package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code modelway worker}: runs models in this process and serves them over the same
 * OpenAI-compatible API as the gateway. Registration with a gateway is not built yet.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Run a model worker: GGUF models in this JVM, served over the OpenAI API.")
final class WorkerCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(WorkerCommand.class);

  @Option(names = "--port", defaultValue = "8090", paramLabel = "PORT",
      description = "Port of the worker's OpenAI-compatible API (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "0.0.0.0";

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where the worker keeps its files (default: ~/.modelway).")
  @Nullable Path dataDir;

  @Option(names = "--gateway", paramLabel = "URL",
      description = "The gateway to register with. Registration is not built yet: the option is read and reported.")
  @Nullable URI gateway;

  @Mixin ModelFlags modelFlags;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (gateway != null) {
      log.warn("--gateway {}: registration with a gateway is not built yet; add this worker to"
          + " the gateway as an upstream instead (--upstream NAME=http://HOST:{}/v1)", gateway, port);
    }
    LocalModels models = LocalModels.load(modelFlags.models, modelFlags.llamaOptions());
    Path dir = DataDir.orDefault(dataDir);
    GatewayOptions options = new GatewayOptions(host, port, dir, Optional.empty(), Map.of(),
        Map.of(), System::getenv, models.backends());
    return ServerRun.gateway(options, models, spec.commandLine());
  }
}
