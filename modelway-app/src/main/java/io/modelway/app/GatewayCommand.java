package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.runtime.ModelHost;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway gateway}: the gateway role alone, one replica of many. */
@Command(name = "gateway", footer = {"", "Example:", "  modelway gateway --port 8080 --database-url jdbc:postgresql://db:5432/modelway --redis-url redis://redis:6379"},
    mixinStandardHelpOptions = true,
    description = "Run the gateway role alone (microservices mode); workers register with it.")
final class GatewayCommand implements Callable<Integer> {
  @Mixin GatewayFlags flags;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    return ServerRun.run(flags.toOptions(GatewayOptions.Role.GATEWAY), ModelHost::none,
        spec.commandLine(), flags.debug, (context, running) -> {});
  }
}
