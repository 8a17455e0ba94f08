package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.auth.SharedSecret;
import io.modelway.gateway.registry.RegistrationAgent;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.context.event.ContextClosedEvent;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code modelway worker}: runs models in this process, serves them over the same
 * OpenAI-compatible API as the gateway, and registers with a gateway when given one.
 */
@Command(name = "worker", footer = {"", "Example:", "  modelway worker --port 9001 --gateway http://gateway:8080 --model qwen=/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"},
    mixinStandardHelpOptions = true,
    description = "Run a model worker: models in this JVM, served over the OpenAI API, registered with a gateway.")
final class WorkerCommand implements Callable<Integer> {
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
      description = "The gateway to register with, e.g. http://gateway:8080 (needs MODELWAY_CLUSTER_SECRET).")
  @Nullable URI gateway;

  @Option(names = "--advertise", paramLabel = "URL",
      description = "The URL the gateway calls this worker at (default: http://HOST:PORT, HOST being --host or this machine's address).")
  @Nullable URI advertise;

  @Option(names = "--worker-id", paramLabel = "ID",
      description = "This worker's id in the registry (default: HOSTNAME-PORT).")
  @Nullable String workerId;

  @Option(names = "--debug", negatable = false,
      description = "Print the stack traces of failures; log Modelway at DEBUG and its libraries at INFO.")
  boolean debug;

  @Mixin ModelFlags modelFlags;
  @Spec CommandSpec spec;

  /** Looks up environment variables; tests replace it. */
  Function<String, @Nullable String> environment = System::getenv;

  @Override
  public Integer call() {
    SharedSecret secret = SharedSecret.fromEnvironment(
        environment, SharedSecret.CLUSTER_SECRET_ENV, "worker registration");
    if (gateway != null && !secret.isSet()) {
      spec.commandLine().getErr().println("modelway: --gateway needs the cluster secret: set "
          + SharedSecret.CLUSTER_SECRET_ENV + " to the value the gateway has.");
      return 2;
    }
    Path dir = DataDir.created(dataDir);
    GatewayOptions options = GatewayOptions.of(dir)
        .withRole(GatewayOptions.Role.WORKER)
        .withAddress(host, port)
        .withEnvironment(environment);
    return ServerRun.run(options, () -> modelFlags.startLoading(dir), spec.commandLine(), debug,
        (context, running) -> {
      if (gateway == null) {
        return;
      }
      int listening = GatewayRole.port(context);
      URI self = advertise != null ? advertise : URI.create("http://" + advertisedHost() + ":" + listening);
      String id = workerId != null ? workerId : hostname() + "-" + listening;
      RegistrationAgent agent = new RegistrationAgent(
          gateway, secret.value().orElseThrow(), id, self, running.models());
      // Deregister first thing on shutdown, before the server stops taking calls.
      context.addApplicationListener(event -> {
        if (event instanceof ContextClosedEvent) {
          agent.close();
        }
      });
      agent.start();
    });
  }

  private String advertisedHost() {
    if (!host.equals("0.0.0.0") && !host.equals("::")) {
      return host;
    }
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      return "127.0.0.1";
    }
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "-");
    } catch (UnknownHostException e) {
      return "worker";
    }
  }
}
