package io.modelway.bench;

import io.modelway.runtime.llama.GgufWriter;
import io.modelway.runtime.llama.LlamaOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The driver of {@code bench/tiny-model-tokens.sh}: tokens per second of a tiny GGUF model through
 * Modelway's API against the same model called through llama.cpp's binding in this JVM.
 *
 * <p>{@code write-model FILE} writes the tiny model ({@link GgufWriter}). {@code measure} loads it
 * here with the server's slots, context and threads, checks that the binding and the API give the
 * same text for every client's prompt, then runs closed-loop rounds — every client generating its
 * requests one after the other — interleaving the modes (direct, API streamed, API not streamed,
 * direct, …) so that drift on a shared machine hits all of them alike. Only one mode generates at
 * a time: the server is idle while the binding runs here, and this JVM's model is idle while the
 * server runs. The report (Markdown, on standard output) gives medians over the rounds and the
 * API's share of the binding's tokens per second; progress goes to standard error.
 */
@Command(name = "tiny-model-tokens", mixinStandardHelpOptions = true,
    subcommands = {TinyModelTokens.WriteModel.class, TinyModelTokens.Measure.class},
    description = "Tokens/s of a tiny GGUF model: Modelway's API against the binding in one JVM.")
public final class TinyModelTokens {
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  private TinyModelTokens() {}

  /** The report's stream: standard output as it was at start, before {@link #main} moved it. */
  private static PrintStream report = System.out;

  public static void main(String[] args) {
    // The binding prints to System.out (where it extracts its library, for one): keep standard
    // output for the report alone.
    report = System.out;
    System.setOut(System.err);
    System.exit(new CommandLine(new TinyModelTokens()).execute(args));
  }

  static void log(String format, Object... args) {
    System.err.printf(Locale.ROOT, "[tiny-model-tokens %s] %s%n",
        LocalTime.now(ZoneOffset.UTC).format(CLOCK), String.format(Locale.ROOT, format, args));
  }

  @Command(name = "write-model", mixinStandardHelpOptions = true,
      description = "Write the tiny random-weight llama model (GGUF, F32) to FILE.")
  static final class WriteModel implements Callable<Integer> {
    @Parameters(paramLabel = "FILE") Path file;

    @Option(names = "--seed", defaultValue = "7", description = "Weights seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
      GgufWriter.write(file, seed);
      log("wrote %s (%d bytes, seed %d)", file, Files.size(file), seed);
      return 0;
    }
  }

  @Command(name = "measure", mixinStandardHelpOptions = true,
      description = "Run the interleaved rounds and print the report (Markdown) on standard output.")
  static final class Measure implements Callable<Integer> {
    @Option(names = "--model-file", required = true, description = "The GGUF file the server serves too.")
    Path modelFile;

    @Option(names = "--api", required = true, description = "The API's base URL, e.g. http://127.0.0.1:18181/v1.")
    URI api;

    @Option(names = "--model", defaultValue = "tiny", description = "The model's name on the API (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--slots", defaultValue = "4", description = "The server's --slots (default: ${DEFAULT-VALUE}).")
    int slots;

    @Option(names = "--context-size", defaultValue = "2048", description = "The server's --context-size (default: ${DEFAULT-VALUE}).")
    int contextSize;

    @Option(names = "--threads", description = "llama.cpp threads here (default: the server's default, half the available processors, at least 1).")
    int threads = LlamaOptions.defaultThreads(Runtime.getRuntime().availableProcessors());

    @Option(names = "--clients", defaultValue = "4", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--tokens", defaultValue = "128", description = "Completion tokens per request, max_tokens (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--requests", defaultValue = "8", description = "Requests per client per round (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--rounds", defaultValue = "3", description = "Measured rounds per mode (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "PT30S",
        description = "Discarded load per mode first, in whole rounds, ISO-8601 (default: ${DEFAULT-VALUE}): "
            + "until both JVMs have compiled the request path, the API loses several times more per request.")
    Duration warmup;

    @Option(names = "--modes", split = ",", defaultValue = "direct,api-stream,api-whole",
        description = "Modes in the order each round runs them (default: ${DEFAULT-VALUE}); "
            + "direct-pump is an experiment (one receiver thread for all calls).")
    List<String> modeNames;

    @Option(names = "--pause", defaultValue = "PT1S", description = "Idle time before each run, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration pause;

    @Option(names = "--timeout", defaultValue = "PT5M", description = "Per-request timeout on the API (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--server-pid", description = "The server's pid, to report its CPU time (Linux /proc).")
    long serverPid;

    @Option(names = "--clock-ticks", defaultValue = "100", description = "The kernel's CLK_TCK (default: ${DEFAULT-VALUE}).")
    long clockTicks;

    @Option(names = "--runs", description = "Write one TSV row per round (warm-ups included, as round 0) here.")
    @Nullable Path runsFile;

    @Override
    public Integer call() throws Exception {
      List<Mode> modes = new ArrayList<>();
      for (String name : modeNames) {
        modes.add(Mode.of(name.trim()));
      }
      positive("--clients", clients);
      positive("--tokens", tokens);
      positive("--requests", requests);
      positive("--rounds", rounds);
      Prompts prompts = new Prompts(clients);
      LlamaOptions options = new LlamaOptions(slots, contextSize, threads);
      log("loading %s here: %d slots, %d tokens of context, %d threads", modelFile, slots, contextSize, threads);
      HttpClient http = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
      CpuClock server = serverPid > 0 ? CpuClock.ofPid(serverPid, clockTicks) : CpuClock.none();
      try (DirectBinding direct = new DirectBinding(modelFile, options, prompts, tokens);
           PumpedBinding pumped = new PumpedBinding(direct, tokens);
           Load load = new Load(clients, CpuClock.thisProcess(), server, CpuClock.machine(clockTicks));
           PrintWriter runs = runsWriter()) {
        Map<Mode, Generator> generators = new EnumMap<>(Mode.class);
        generators.put(Mode.DIRECT, direct);
        generators.put(Mode.DIRECT_PUMP, pumped);
        generators.put(Mode.API_STREAM, new ApiClient(http, api, model, prompts, tokens, true, timeout));
        generators.put(Mode.API_WHOLE, new ApiClient(http, api, model, prompts, tokens, false, timeout));

        preflight(modes, generators, direct);
        for (Mode mode : modes) {
          long started = System.nanoTime();
          int warmupRounds = 0;
          RoundResult last = null;
          while (last == null || System.nanoTime() - started < warmup.toNanos()) {
            last = load.round(mode, 0, generators.get(mode), requests, tokens);
            runs.println(Report.tsv(last));
            warmupRounds++;
          }
          log("warm-up %-10s %d rounds in %.0f s, the last at %.0f tokens/s (discarded)", mode,
              warmupRounds, (System.nanoTime() - started) / 1e9, last.tokensPerSecond());
        }
        List<RoundResult> measured = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
          for (Mode mode : modes) {
            Thread.sleep(pause.toMillis());
            RoundResult r = load.round(mode, round, generators.get(mode), requests, tokens);
            measured.add(r);
            runs.println(Report.tsv(r));
            runs.flush();
            log("round %d/%d %-10s %7.0f tokens/s (%d requests, %d tokens in %.2f s); CPU µs/token: "
                    + "driver %.0f, server %.0f; other processes %.2f cores",
                round, rounds, mode, r.tokensPerSecond(), r.requests(), r.tokens(), r.wallNanos() / 1e9,
                r.driverCpuMicrosPerToken(), r.serverCpuMicrosPerToken(), r.otherCores());
          }
        }
        report.print(new Report(modes, measured).markdown());
        report.flush();
      }
      return 0;
    }

    /**
     * Every client's prompt, one call at a time: the same number of tokens, and the same text,
     * from the binding and from each API mode, so that the modes do the same work.
     */
    private void preflight(List<Mode> modes, Map<Mode, Generator> generators, DirectBinding direct)
        throws IOException, InterruptedException {
      for (int client = 0; client < clients; client++) {
        Completion reference = direct.generate(client, true);
        if (reference.tokens() != tokens) {
          throw new IllegalStateException("the binding generated " + reference.tokens()
              + " tokens for client " + client + ", not " + tokens
              + " (the model ended early: this benchmark needs a model that never emits EOS)");
        }
        for (Mode mode : modes) {
          if (!mode.api()) {
            continue;
          }
          Completion got = generators.get(mode).generate(client, true);
          if (got.tokens() != tokens || !got.text().equals(reference.text())) {
            throw new IllegalStateException(mode + " answered client " + client + " with "
                + got.tokens() + " tokens and text " + quote(got.text()) + "; the binding, with "
                + reference.tokens() + " tokens: " + quote(reference.text()));
          }
        }
      }
      log("pre-flight: %d prompts, each %d tokens with the same text from the binding and %s",
          clients, tokens, modes.stream().filter(Mode::api).map(Mode::key).toList());
      log("client 1's prompt: %s", quote(direct.prompt(0)));
    }

    private PrintWriter runsWriter() throws IOException {
      if (runsFile == null) {
        return new PrintWriter(java.io.Writer.nullWriter());
      }
      PrintWriter out = new PrintWriter(Files.newBufferedWriter(runsFile, StandardCharsets.UTF_8));
      out.println(Report.tsvHeader());
      return out;
    }

    private static void positive(String option, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(option + ": " + value + " (expected: >= 1)");
      }
    }

    private static String quote(String s) {
      String oneLine = s.replace("\n", "\\n");
      return "\"" + SseStream.excerpt(oneLine) + "\"";
    }
  }
}
