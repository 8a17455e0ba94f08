package io.modelway.app;

import io.modelway.app.hub.DownloadException;
import io.modelway.app.hub.DownloadListener;
import io.modelway.app.hub.DownloadPolicy;
import io.modelway.app.hub.DownloadResult;
import io.modelway.app.hub.HubClient;
import io.modelway.app.hub.HubException;
import io.modelway.app.hub.HubFile;
import io.modelway.app.hub.HubRef;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code modelway pull REPO[/FILE]}: downloads a GGUF file from the Hugging Face Hub (or the
 * mirror in {@code HF_ENDPOINT}, with the token in {@code HF_TOKEN}) to
 * {@code DIR/models/OWNER/NAME/FILE}, resumably and checked against the hub's SHA-256.
 *
 * <p>Exit codes: 0 when the file is on disk (downloaded, or already up to date); 1 when the
 * download, the network or the checksum failed; 2 for what the user must change: the argument,
 * an ambiguous repository, a token (401, 403) or a name the hub does not know (404).
 *
 * <p>The environment is read through {@link #env} and the download's retries follow
 * {@link #policy}; tests replace both.
 */
@Command(name = "pull", footer = {"", "Example:", "  modelway pull Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf"},
    mixinStandardHelpOptions = true,
    description = {
        "Download a GGUF model from Hugging Face into DIR/models/OWNER/NAME/FILE.",
        "Without FILE, the repository's only .gguf file is taken, or its only Q4_K_M one.",
        "Resumes an interrupted download and checks the hub's SHA-256.",
        "Environment: HF_ENDPOINT (a mirror; default: https://huggingface.co),"
            + " HF_TOKEN (a token, for private and gated repositories)."})
final class PullCommand implements Callable<Integer> {
  private static final int OK = 0;
  private static final int FAILED = 1;
  private static final int USAGE = 2;

  @Parameters(index = "0", paramLabel = "REPO[/FILE]",
      description = "The repository, OWNER/NAME, and optionally a file in it,"
          + " such as TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf.")
  String target = "";

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Where Modelway keeps its files (default: ~/.modelway).")
  @Nullable Path dataDir;

  @Option(names = "--revision", paramLabel = "REV", defaultValue = "main",
      description = "The branch, tag or commit to download from (default: ${DEFAULT-VALUE}).")
  String revision = "main";

  @Spec CommandSpec spec;

  /** The environment: {@code HF_ENDPOINT} and {@code HF_TOKEN} are read through it. */
  Function<String, @Nullable String> env = System::getenv;

  /** How hard a download tries before it keeps the partial file for the next run. */
  DownloadPolicy policy = DownloadPolicy.DEFAULT;

  /** Whether the progress bar is redrawn in place rather than printed at each tenth. */
  BooleanSupplier terminal = ProgressBar::isTerminal;

  @Override
  public Integer call() {
    HubRef ref;
    try {
      ref = HubRef.parse(target);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    URI endpoint;
    try {
      String configured = env.apply("HF_ENDPOINT");
      endpoint = configured == null || configured.isBlank()
          ? HubClient.DEFAULT_ENDPOINT : HubClient.parseEndpoint(configured);
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      err.flush();
      return USAGE;
    }
    HubClient hub = new HubClient(endpoint, Optional.ofNullable(env.apply("HF_TOKEN")),
        "modelway/" + Version.current() + "; java/" + Runtime.version().feature());
    try {
      Optional<HubRef> chosen = ref.file().isPresent() ? Optional.of(ref) : chooseGguf(hub, ref, err);
      if (chosen.isEmpty()) {
        return USAGE;
      }
      String path = chosen.get().file().orElseThrow();
      HubFile file = hub.describe(ref.repo(), revision, path);
      Path models = DataDir.orDefault(dataDir).resolve("models").toAbsolutePath().normalize();
      Path destination = models.resolve(ref.owner()).resolve(ref.name()).resolve(path).normalize();
      if (!destination.startsWith(models)) {
        throw new HubException(HubException.Reason.UNAVAILABLE, "Refusing to write outside " + models + ": " + path);
      }
      err.println("Pulling " + chosen.get() + " (" + ModelsCommand.humanSize(file.size())
          + ", revision " + revision + ") from " + hub.endpoint());
      err.flush();
      DownloadListener progress = new ProgressBar(err, terminal.getAsBoolean(), System::nanoTime);
      DownloadResult result = hub.download(file, destination, policy, progress);
      report(result, out);
      if (!result.verified()) {
        err.println("Note: the hub gives no SHA-256 for " + path + " (it is not stored in Git LFS);"
            + " only its size was checked.");
      }
      err.flush();
      return OK;
    } catch (HubException e) {
      err.println(e.getMessage());
      err.flush();
      return e.reason().isUsageError() ? USAGE : FAILED;
    } catch (DownloadException e) {
      err.println(e.getMessage());
      e.partial().ifPresent(partial -> err.println("The bytes so far are kept in " + partial
          + ": run `modelway pull " + target + "` again to resume."));
      err.flush();
      return FAILED;
    }
  }

  /**
   * The GGUF file to take from a repository named without one: the only {@code .gguf}, else the
   * only Q4_K_M one (Ollama's default quantization); empty, after saying why on {@code err}, when
   * there is none or the choice is the user's.
   */
  private Optional<HubRef> chooseGguf(HubClient hub, HubRef ref, PrintWriter err) {
    List<HubFile> ggufs = hub.listFiles(ref.repo(), revision).stream()
        .filter(f -> f.path().toLowerCase(Locale.ROOT).endsWith(".gguf"))
        .toList();
    if (ggufs.size() == 1) {
      return Optional.of(ref.withFile(ggufs.get(0).path()));
    }
    List<HubFile> q4km = ggufs.stream()
        .filter(f -> f.fileName().toUpperCase(Locale.ROOT).contains("Q4_K_M"))
        .toList();
    if (q4km.size() == 1) {
      err.println(ref.repo() + " has " + ggufs.size() + " GGUF files; taking the Q4_K_M one.");
      return Optional.of(ref.withFile(q4km.get(0).path()));
    }
    if (ggufs.isEmpty()) {
      err.println("No .gguf file in " + ref.repo() + " at revision '" + revision
          + "': Modelway runs GGUF models; look for a GGUF version of this model.");
    } else {
      err.println(ref.repo() + " has " + ggufs.size() + " GGUF files; name the one to pull,"
          + " as in: modelway pull " + ref.repo() + "/" + ggufs.get(0).path());
      for (HubFile f : ggufs) {
        err.printf("  %-64s %10s%n", f.path(), ModelsCommand.humanSize(f.size()));
      }
    }
    err.flush();
    return Optional.empty();
  }

  private static void report(DownloadResult result, PrintWriter out) {
    Path path = result.path();
    String file = path.getFileName().toString();
    String name = file.substring(0, file.length() - (file.toLowerCase(Locale.ROOT).endsWith(".gguf") ? 5 : 0))
        .toLowerCase(Locale.ROOT);
    out.println((result.upToDate() ? "Up to date: " : "Downloaded: ") + path + " ("
        + ModelsCommand.humanSize(result.size()) + (result.verified() ? ", SHA-256 verified)" : ")"));
    out.println("Serve it with:");
    out.println("  ./modelway up --model " + shellQuoted(name + "=" + path));
    out.flush();
  }

  private static String shellQuoted(String value) {
    return value.matches("[A-Za-z0-9_./=:@%+,-]+") ? value : "'" + value.replace("'", "'\\''") + "'";
  }
}
