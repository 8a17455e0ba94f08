package io.modelway.app;

import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code modelway sim}: a simulated OpenAI-compatible LLM server. */
@Command(name = "sim", mixinStandardHelpOptions = true,
    description = "Run a simulated OpenAI-compatible LLM server that answers for any model name.")
final class SimCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(SimCommand.class);

  @Option(names = "--port", defaultValue = "8000", paramLabel = "PORT",
      description = "Port to listen on (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "0.0.0.0";

  @Option(names = "--ttft", defaultValue = "0ms", paramLabel = "DURATION",
      description = "Time to first token, such as 200ms (default: ${DEFAULT-VALUE}).")
  Duration ttft = Duration.ZERO;

  @Option(names = "--tokens-per-second", defaultValue = "0", paramLabel = "N",
      description = "Generation speed after the first token; 0 = no delay (default: ${DEFAULT-VALUE}).")
  double tokensPerSecond;

  @Option(names = "--output-tokens", defaultValue = "16", paramLabel = "N",
      description = "Answer length in tokens, capped by a request's max_tokens (default: ${DEFAULT-VALUE}).")
  int outputTokens;

  @Option(names = "--error-rate", defaultValue = "0", paramLabel = "P",
      description = "Share of requests, 0 to 1, answered with a simulated 500 (default: ${DEFAULT-VALUE}).")
  double errorRate;

  @Option(names = "--seed", defaultValue = "42", paramLabel = "N",
      description = "Seed of answers and injected errors; the same seed repeats them (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--embedding-dimensions", defaultValue = "384", paramLabel = "N",
      description = "Length of embedding vectors (default: ${DEFAULT-VALUE}).")
  int embeddingDimensions;

  @Override
  public Integer call() {
    SimOptions options = new SimOptions(host, port, ttft, tokensPerSecond, outputTokens,
        errorRate, seed, embeddingDimensions);
    SimServer sim = SimServer.start(options);
    Runtime.getRuntime().addShutdownHook(new Thread(sim::close, "modelway-sim-stop"));
    log.info("modelway sim listening on {} (ttft {}, {} tokens/s, {} tokens, error rate {}, seed {})",
        sim.baseUrl(), ttft, tokensPerSecond == 0 ? "unlimited" : tokensPerSecond, outputTokens,
        errorRate, seed);
    sim.awaitClose();
    return 0;
  }
}
