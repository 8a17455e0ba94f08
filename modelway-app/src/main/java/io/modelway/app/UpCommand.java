package io.modelway.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway up}: every role in one process, on embedded state. */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Run Modelway all-in-one: the gateway (and, once it lands, the worker) in one process.")
final class UpCommand implements Callable<Integer> {
  @Mixin GatewayFlags flags;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    return ServerRun.gateway(flags.toOptions(), spec.commandLine());
  }
}
