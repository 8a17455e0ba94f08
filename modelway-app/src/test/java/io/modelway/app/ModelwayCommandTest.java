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
  void helpListsEverySubcommand() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("up ", "gateway ", "worker ", "sim ", "models ", "pull ", "version ");
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
    assertThat(r.out()).contains("--ttft", "--tokens-per-second", "--output-tokens", "--error-rate", "--seed");
  }

  @Test
  void workerAndUpTakeModels() {
    assertThat(run("worker", "--help").out()).contains("--model=NAME=PATH.gguf", "--gateway=URL",
        "--slots=N", "--context-size=TOKENS", "--port=PORT", "--advertise=URL", "--worker-id=ID",
        "--no-embedding-model", "--embedding-max-batch=N", "--embedding-max-wait=DURATION");
    assertThat(run("gateway", "--help").out()).contains("--lease-ttl=DURATION");
    assertThat(run("up", "--help").out()).contains("--model=NAME=PATH.gguf", "--slots=N");
    assertThat(run("gateway", "--help").out()).doesNotContain("--model");
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
