package io.modelway.app;

import io.modelway.sim.ChaosMode;
import io.modelway.sim.ChaosTrigger;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** {@code modelway sim}: a simulated OpenAI-compatible LLM server. */
@Command(name = "sim", footer = {"", "Example:", "  modelway sim --port 8000 --ttft 200ms --tokens-per-second 30"},
    mixinStandardHelpOptions = true,
    description = "Run a simulated OpenAI-compatible LLM server that answers for any model name.")
final class SimCommand implements Callable<Integer> {

  /** The exit status of a sim that dies by chaos: that of a process killed by SIGKILL. */
  static final int DIE_STATUS = 137;

  @Option(names = "--port", defaultValue = "8000", paramLabel = "PORT",
      description = "Port to listen on (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "ADDRESS",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "0.0.0.0";

  @Option(names = "--ttft", defaultValue = "0ms", paramLabel = "DURATION",
      description = "Time to first token on top of queue and prefill, such as 200ms (default: ${DEFAULT-VALUE}).")
  Duration ttft = Duration.ZERO;

  @Option(names = "--tokens-per-second", defaultValue = "0", paramLabel = "N",
      description = "Generation speed of one sequence after the first token; 0 = no delay (default: ${DEFAULT-VALUE}).")
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

  @Option(names = "--kv-cache-blocks", defaultValue = "" + SimOptions.DEFAULT_KV_CACHE_BLOCKS,
      paramLabel = "N",
      description = "KV prefix cache size in blocks of 16 tokens; longer requests get a 400 (default: ${DEFAULT-VALUE}).")
  int kvCacheBlocks;

  @Option(names = "--prefill-tokens-per-second", defaultValue = "0", paramLabel = "N",
      description = "Prefill speed of prompt tokens not in the KV cache, one request at a time; 0 = instant (default: ${DEFAULT-VALUE}).")
  double prefillTokensPerSecond;

  @Option(names = "--max-running", defaultValue = "0", paramLabel = "N",
      description = "Requests generated at once, the others wait in a queue; 0 = no limit but the KV cache (default: ${DEFAULT-VALUE}).")
  int maxRunning;

  @Option(names = "--decode-slowdown", defaultValue = "0", paramLabel = "F",
      description = "Token delay grows by this share per other running request: 1/tokens-per-second x (1 + F x (running - 1)) (default: ${DEFAULT-VALUE}).")
  double decodeSlowdown;

  @Option(names = "--hang-after", paramLabel = "N|DURATION", converter = MomentConverter.class,
      description = "Hang after N requests or a time after start: streams stall after --hang-tokens tokens, connections stay open.")
  @Nullable Moment hangAfter;

  @Option(names = "--hang-tokens", defaultValue = "" + SimOptions.DEFAULT_HANG_TOKENS,
      paramLabel = "N",
      description = "Tokens a stream sends in hang mode before it stalls (default: ${DEFAULT-VALUE}).")
  int hangTokens;

  @Option(names = "--fail-after", paramLabel = "N|DURATION", converter = MomentConverter.class,
      description = "Answer every request with a 500 after N requests or a time after start.")
  @Nullable Moment failAfter;

  @Option(names = "--die-after", paramLabel = "N|DURATION", converter = MomentConverter.class,
      description = "Halt the process at once, like kill -9 (exit status " + DIE_STATUS
          + "), when request N+1 arrives or a time after start.")
  @Nullable Moment dieAfter;

  @Option(names = "--models", split = ",", defaultValue = "sim", paramLabel = "NAME[,NAME...]",
      description = "The models GET /v1/models lists; any name is served all the same "
          + "(default: ${DEFAULT-VALUE}).")
  List<String> models;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    SimOptions options;
    List<ChaosTrigger> chaos = new ArrayList<>();
    try {
      if (hangAfter != null) {
        chaos.add(hangAfter.trigger(ChaosMode.HANG));
      }
      if (failAfter != null) {
        chaos.add(failAfter.trigger(ChaosMode.FAIL));
      }
      if (dieAfter != null) {
        chaos.add(dieAfter.trigger(ChaosMode.DIE));
      }
      options = new SimOptions(host, port, ttft, tokensPerSecond, outputTokens, errorRate, seed,
          embeddingDimensions, kvCacheBlocks, prefillTokensPerSecond, maxRunning, decodeSlowdown,
          hangTokens, chaos, false, models);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    SimServer sim = SimServer.start(options, SimCommand::halt);
    Runtime.getRuntime().addShutdownHook(new Thread(sim::close, "modelway-sim-stop"));
    // Logging starts here, not when the class loads: every CLI command builds this command, and
    // starting Logback costs a short-lived command a third of its start-up.
    Logger log = LoggerFactory.getLogger(SimCommand.class);
    log.info("modelway sim listening on {} (ttft {}, {} tokens/s, {} tokens, error rate {}, seed {};"
            + " KV cache {} blocks, prefill {} tokens/s, max running {}, decode slowdown {}{})",
        sim.baseUrl(), ttft, tokensPerSecond == 0 ? "unlimited" : tokensPerSecond, outputTokens,
        errorRate, seed, kvCacheBlocks,
        prefillTokensPerSecond == 0 ? "unlimited" : prefillTokensPerSecond,
        maxRunning == 0 ? "unlimited" : maxRunning, decodeSlowdown,
        chaos.isEmpty() ? "" : "; chaos " + chaos);
    sim.awaitClose();
    return 0;
  }

  /** Dies as a killed process does: no shutdown hook, no goodbye but one line on stderr. */
  private static void halt() {
    System.err.println("modelway sim: chaos mode die, halting");
    System.err.flush();
    Runtime.getRuntime().halt(DIE_STATUS);
  }

  /** A moment given as a number of requests or as a time after start, for any chaos mode. */
  @FunctionalInterface
  interface Moment {
    ChaosTrigger trigger(ChaosMode mode);
  }

  static final class MomentConverter implements ITypeConverter<Moment> {
    @Override
    public Moment convert(String value) {
      if (value.matches("\\d{1,18}")) {
        long requests = Long.parseLong(value);
        return mode -> ChaosTrigger.afterRequests(mode, requests);
      }
      try {
        Duration time = Converters.duration(value);
        return mode -> ChaosTrigger.afterTime(mode, time);
      } catch (TypeConversionException e) {
        throw new TypeConversionException(
            "'" + value + "' is neither a number of requests nor a duration (expected: such as 100, 500ms, 30s)");
      }
    }
  }
}
