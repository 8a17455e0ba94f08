package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ModelwayCommandTest {

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Modelway.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void runsOneEventLoopPerCoreButOneAloneOnTwoCoresOrFewer() {
    assertThat(Modelway.eventLoops(1)).isEqualTo(1);
    assertThat(Modelway.eventLoops(2)).isEqualTo(1);
    assertThat(Modelway.eventLoops(3)).isEqualTo(3);
    assertThat(Modelway.eventLoops(16)).isEqualTo(16);
  }

  @Test
  void helpListsEverySubcommand() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("up ", "gateway ", "worker ", "sim ", "models ", "pull ", "version ");
  }

  @Test
  void everyCommandsHelpHasAnExample() {
    java.util.List<String> without = new java.util.ArrayList<>();
    java.util.Deque<CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(
        Modelway.commandLine()));
    while (!todo.isEmpty()) {
      CommandLine command = todo.pop();
      if (!command.getUsageMessage().contains("Example")) {
        without.add(command.getCommandSpec().qualifiedName());
      }
      todo.addAll(command.getSubcommands().values());
    }
    assertThat(without).isEmpty();
  }

  @Test
  void anUnknownCommandOrOptionExitsWithOneLineThatSaysWhereToLook() {
    Run unknown = run("frob");
    assertThat(unknown.code()).isEqualTo(2);
    assertThat(unknown.out()).isEmpty();
    assertThat(unknown.err().strip()).isEqualTo(
        "modelway: unknown command 'frob' for 'modelway'; see 'modelway --help'");

    Run typo = run("keys", "rotat");
    assertThat(typo.code()).isEqualTo(2);
    assertThat(typo.err().strip()).startsWith(
        "modelway: unknown command 'rotat' for 'modelway keys' (did you mean '")
        .contains("rotate").endsWith("; see 'modelway keys --help'").doesNotContain("\n");

    Run option = run("keys", "create", "--bogus");
    assertThat(option.code()).isEqualTo(2);
    assertThat(option.err().strip())
        .isEqualTo("modelway: unknown option: '--bogus'; see 'modelway keys create --help'");

    Run help = run("help", "frob");
    assertThat(help.code()).isEqualTo(2);
    assertThat(help.err().strip()).isEqualTo(
        "modelway: unknown command 'frob' for 'modelway'; see 'modelway --help'");
    assertThat(run("help", "keys", "rotate").out()).contains("Usage: modelway keys rotate");
  }

  @Test
  void upHelpDescribesEveryOption() {
    Run r = run("up", "--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("--port=PORT", "--host=ADDRESS", "--data-dir=DIR", "--config=FILE",
        "--upstream=NAME=BASE_URL", "--upstream-key=NAME=ENV_VAR");
    CommandLine up = Modelway.commandLine().getSubcommands().get("up");
    up.getCommandSpec().options().forEach(option ->
        assertThat(option.description()).as(option.longestName()).isNotEmpty());
  }

  @Test
  void simHelpDescribesItsKnobs() {
    Run r = run("sim", "--help");
    assertThat(r.out()).contains("--ttft", "--tokens-per-second", "--output-tokens", "--error-rate", "--seed",
        "--kv-cache-blocks=N", "--prefill-tokens-per-second=N", "--max-running=N", "--decode-slowdown=F",
        "--hang-after=N|DURATION", "--hang-tokens=N", "--fail-after=N|DURATION", "--die-after=N|DURATION",
        "--models=NAME[,NAME...]");
    CommandLine sim = Modelway.commandLine().getSubcommands().get("sim");
    sim.getCommandSpec().options().forEach(option ->
        assertThat(option.description()).as(option.longestName()).isNotEmpty());
  }

  @Test
  void simDefaultsAreThoseOfSimOptions() {
    SimCommand sim = new SimCommand();
    new CommandLine(sim).registerConverter(java.time.Duration.class, Converters::duration).parseArgs();
    io.modelway.sim.SimOptions defaults = io.modelway.sim.SimOptions.defaults();
    assertThat(sim.ttft).isEqualTo(defaults.timeToFirstToken());
    assertThat(sim.tokensPerSecond).isEqualTo(defaults.tokensPerSecond());
    assertThat(sim.outputTokens).isEqualTo(defaults.outputTokens());
    assertThat(sim.errorRate).isEqualTo(defaults.errorRate());
    assertThat(sim.seed).isEqualTo(defaults.seed());
    assertThat(sim.embeddingDimensions).isEqualTo(defaults.embeddingDimensions());
    assertThat(sim.kvCacheBlocks).isEqualTo(defaults.kvCacheBlocks());
    assertThat(sim.prefillTokensPerSecond).isEqualTo(defaults.prefillTokensPerSecond());
    assertThat(sim.maxRunning).isEqualTo(defaults.maxRunning());
    assertThat(sim.decodeSlowdown).isEqualTo(defaults.decodeSlowdown());
    assertThat(sim.hangTokens).isEqualTo(defaults.hangTokens());
    assertThat(sim.hangAfter).isNull();
    assertThat(sim.failAfter).isNull();
    assertThat(sim.dieAfter).isNull();
  }

  @Test
  void simRejectsInvalidPhysicsAndChaosClearly() {
    Run blocks = run("sim", "--kv-cache-blocks", "1");
    assertThat(blocks.code()).isEqualTo(2);
    assertThat(blocks.err()).contains("kv-cache-blocks: 1 (expected: >= 2");
    Run running = run("sim", "--max-running", "-1");
    assertThat(running.code()).isEqualTo(2);
    assertThat(running.err()).contains("max-running: -1 (expected: >= 0");
    Run when = run("sim", "--die-after", "soon");
    assertThat(when.code()).isEqualTo(2);
    assertThat(when.err()).contains("'soon' is neither a number of requests nor a duration");
    Run negative = run("sim", "--hang-after", "-5s");
    assertThat(negative.code()).isEqualTo(2);
    assertThat(negative.err()).contains("hang-after: PT-5S (expected: >= 0)");
  }

  @Test
  void workerAndUpTakeModels() {
    assertThat(run("worker", "--help").out()).contains("--model=NAME=PATH.gguf", "--gateway=URL",
        "--slots=N", "--context-size=TOKENS", "--threads=N", "--port=PORT", "--advertise=URL",
        "--worker-id=ID", "--embedding-threads=N",
        "--no-embedding-model", "--embedding-max-batch=N", "--embedding-max-wait=DURATION");
    assertThat(run("gateway", "--help").out()).contains("--lease-ttl=DURATION");
    assertThat(run("up", "--help").out()).contains("--model=NAME=PATH.gguf", "--slots=N",
        "--threads=N");
    assertThat(run("gateway", "--help").out()).doesNotContain("--model");
  }

  @Test
  void threadsDefaultToHalfTheProcessorsAndCanBeSet() {
    ModelFlags defaults = new ModelFlags();
    new CommandLine(defaults).registerConverter(java.time.Duration.class, Converters::duration)
        .parseArgs();
    assertThat(defaults.llamaOptions().threads()).isEqualTo(io.modelway.runtime.llama.LlamaOptions
        .defaultThreads(Runtime.getRuntime().availableProcessors()));
    ModelFlags three = new ModelFlags();
    new CommandLine(three).registerConverter(java.time.Duration.class, Converters::duration)
        .parseArgs("--threads", "3");
    assertThat(three.llamaOptions().threads()).isEqualTo(3);
  }

  @Test
  void modelsListsGgufFilesFromTheirHeaders(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path models = java.nio.file.Files.createDirectories(dir.resolve("models"));
    io.modelway.runtime.llama.GgufWriter.write(models.resolve("tiny.gguf"), 5);
    java.nio.file.Files.write(models.resolve("junk.gguf"), new byte[] {1, 2, 3});
    Run r = run("models", "--data-dir", dir.toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("MODEL", "QUANT", "CONTEXT");
    assertThat(r.out().lines().filter(l -> l.startsWith("tiny.gguf")).findFirst().orElseThrow())
        .contains("llama", "F32", "4096", "KiB");
    assertThat(r.out()).contains("junk.gguf").contains("unreadable");
    Run json = run("models", "--json", "--data-dir", dir.toString());
    assertThat(json.out()).contains("\"name\":\"tiny.gguf\"", "\"architecture\":\"llama\"",
        "\"context_length\":4096", "\"name\":\"junk.gguf\"", "\"error\":");
  }

  @Test
  void versionPrintsTheBuildVersion() {
    Run r = run("version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("modelway ").doesNotContain("@project.version@");
  }

  @Test
  void rejectsAnInvalidDurationClearly() {
    Run r = run("sim", "--ttft", "soon");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("'soon' is not a duration");
  }

  @Test
  void startsNoGatewayWhenTheConfigIsInvalid(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path config = dir.resolve("bad.yaml");
    java.nio.file.Files.writeString(config, "models:\n  - {name: m, backend: nowhere}\n");
    Run r = run("up", "--port", "0", "--data-dir", dir.toString(), "--config", config.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("invalid config", "models[0].backend");
  }

  @Test
  void workerRefusesToRegisterWithoutTheClusterSecret() {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("MODELWAY_CLUSTER_SECRET") == null);
    Run r = run("worker", "--port", "0", "--gateway", "http://127.0.0.1:9");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("MODELWAY_CLUSTER_SECRET");
  }
}
