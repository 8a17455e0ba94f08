package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway up}: every role in one process, on embedded state. */
@Command(name = "up", footer = {"", "Example:", "  modelway up --port 8080 --upstream deepseek=https://api.deepseek.com/v1 --upstream-key deepseek=DEEPSEEK_API_KEY"},
    mixinStandardHelpOptions = true,
    description = "Run Modelway all-in-one: the gateway and its models in one process.")
final class UpCommand implements Callable<Integer> {
  @Mixin GatewayFlags flags;
  @Mixin ModelFlags modelFlags;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    GatewayOptions options = flags.toOptions(GatewayOptions.Role.ALL_IN_ONE);
    return ServerRun.run(options, () -> modelFlags.startLoading(options.dataDir()),
        spec.commandLine(), flags.debug, (context, running) -> {});
  }
}
