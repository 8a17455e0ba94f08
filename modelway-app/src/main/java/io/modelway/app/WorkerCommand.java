package io.modelway.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code modelway worker}: the model worker role. Not built yet. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Run a model worker (GGUF and embedding models in the JVM). Not yet available.")
final class WorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("modelway worker: not yet. The in-JVM model worker is not"
        + " built yet; meanwhile put any OpenAI-compatible server (vLLM, llama.cpp server, Ollama)"
        + " behind the gateway with --upstream.");
    return 2;
  }
}
