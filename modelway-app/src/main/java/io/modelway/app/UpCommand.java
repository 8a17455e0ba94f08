package io.modelway.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway up}: every role in one process, on embedded state. */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Run Modelway all-in-one: the gateway and its models in one process.")
final class UpCommand implements Callable<Integer> {
  @Mixin GatewayFlags flags;
  @Mixin ModelFlags modelFlags;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    LocalModels models = LocalModels.load(modelFlags.models, modelFlags.llamaOptions());
    return ServerRun.gateway(flags.toOptions(models.backends()), models, spec.commandLine());
  }
}
