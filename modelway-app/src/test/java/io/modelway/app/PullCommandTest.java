package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.app.hub.DownloadPolicy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code modelway pull} against a local hub and CDN that answer as huggingface.co does. */
class PullCommandTest {
  private static final String REPO = "TheBloke/Tiny-GGUF";
  private static final String FILE = "tiny.Q4_K_M.gguf";
  private static final byte[] MODEL = bytes(256 * 1024, 1);
  private static final DownloadPolicy FAST = new DownloadPolicy(5, Duration.ZERO, Duration.ofSeconds(20));

  @TempDir Path dir;
  private FakeHub hub;
  private final Map<String, String> env = new LinkedHashMap<>();

  private record Run(int code, String out, String err) {}

  @BeforeEach
  void startHub() throws Exception {
    hub = new FakeHub().repo(REPO, Map.of(FILE, MODEL, "README.md", bytes(100, 2)));
    env.put("HF_ENDPOINT", hub.endpoint());
  }

  @AfterEach
  void stopHub() {
    hub.close();
  }

  private Run pull(DownloadPolicy policy, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Modelway.commandLine();
    PullCommand command = cli.getSubcommands().get("pull").getCommand();
    command.env = env::get;
    command.policy = policy;
    command.terminal = () -> false;
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    String[] all = Arrays.copyOf(args, args.length + 2);
    all[args.length] = "--data-dir";
    all[args.length + 1] = dir.toString();
    int code = cli.execute(all);
    return new Run(code, out.toString(), err.toString());
  }

  private Run pull(String... args) {
    return pull(FAST, args);
  }

  private Path modelPath(String repo, String file) {
    return dir.resolve("models").resolve(repo).resolve(file);
  }

  private Path incomplete(Path model) {
    return model.resolveSibling(model.getFileName() + ".incomplete");
  }

  @Test
  void downloadsAndVerifiesAFileIntoTheModelsDir() throws Exception {
    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    Path model = modelPath(REPO, FILE);
    assertThat(model).hasBinaryContent(MODEL);
    assertThat(FakeHub.sha256(Files.readAllBytes(model))).isEqualTo(FakeHub.sha256(MODEL));
    assertThat(incomplete(model)).doesNotExist();
    assertThat(r.out()).contains("Downloaded: " + model, "SHA-256 verified",
        "./modelway up --model tiny.q4_k_m=" + model);
    assertThat(r.err()).contains("Pulling " + REPO + "/" + FILE, "100%");
    // Metadata from a HEAD, then the bytes from the commit it named, through the CDN's redirect.
    assertThat(hub.hubRequests).extracting(s -> s.method + " " + s.path).containsExactly(
        "HEAD /" + REPO + "/resolve/main/" + FILE,
        "GET /" + REPO + "/resolve/" + FakeHub.COMMIT + "/" + FILE);
    assertThat(hub.cdnRequests).singleElement().satisfies(s -> {
      assertThat(s.range).isEmpty();
      assertThat(s.bytesSent).isEqualTo(MODEL.length);
    });
  }

  @Test
  void sendsHfTokenAsBearerToTheHubButNotToTheCdn() {
    hub.privateRepo("acme/secret-GGUF", "hf_secret", Map.of("m.gguf", MODEL));
    env.put("HF_TOKEN", "hf_secret");

    Run r = pull("pull", "acme/secret-GGUF/m.gguf");

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(hub.hubRequests).isNotEmpty()
        .allSatisfy(s -> assertThat(s.authorization).contains("Bearer hf_secret"));
    assertThat(hub.cdnRequests).isNotEmpty().allSatisfy(s -> assertThat(s.authorization).isEmpty());
  }

  @Test
  void asksForHfTokenWhenTheHubAnswers401() {
    hub.privateRepo("acme/secret-GGUF", "hf_secret", Map.of("m.gguf", MODEL));

    Run r = pull("pull", "acme/secret-GGUF/m.gguf");

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("HTTP 401", "set HF_TOKEN");
    assertThat(modelPath("acme/secret-GGUF", "m.gguf")).doesNotExist();
  }

  @Test
  void resumesFromAnIncompleteFileWithARangeRequest() throws Exception {
    Path model = modelPath(REPO, FILE);
    Files.createDirectories(model.getParent());
    int have = 100_000;
    Files.write(incomplete(model), Arrays.copyOf(MODEL, have));

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(model).hasBinaryContent(MODEL);
    assertThat(incomplete(model)).doesNotExist();
    assertThat(hub.cdnRequests).singleElement().satisfies(s -> {
      assertThat(s.range).contains("bytes=" + have + "-");
      assertThat(s.bytesSent).isEqualTo(MODEL.length - have);
    });
    assertThat(r.err()).contains("Resuming after");
  }

  @Test
  void recoversFromAnInterruptedTransferByResumingWhereItBroke() {
    int half = MODEL.length / 2;
    hub.cutTransfers(1, half);

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(modelPath(REPO, FILE)).hasBinaryContent(MODEL);
    assertThat(hub.cdnRequests).hasSize(2);
    assertThat(hub.cdnRequests.get(0).range).isEmpty();
    // The server wrote half before closing; the client resumes from what reached its disk (a
    // reset connection may lose the last bytes in flight) and gets only the rest.
    long resumedFrom = rangeStart(hub.cdnRequests.get(1));
    assertThat(resumedFrom).isPositive().isLessThanOrEqualTo(half);
    assertThat(hub.cdnRequests.get(1).bytesSent).isEqualTo(MODEL.length - resumedFrom);
    assertThat(r.err()).contains("The transfer broke after", "resuming, attempt 2 of 5");
  }

  private static long rangeStart(FakeHub.Seen request) {
    String range = request.range.orElseThrow();
    assertThat(range).matches("bytes=\\d+-");
    return Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
  }

  @Test
  void keepsThePartialFileForTheNextRunWhenTheTransferKeepsBreaking() throws Exception {
    int slice = MODEL.length / 8;
    hub.cutTransfers(3, slice);
    Path model = modelPath(REPO, FILE);

    Run broken = pull(new DownloadPolicy(3, Duration.ZERO, Duration.ofSeconds(20)), "pull", REPO + "/" + FILE);

    assertThat(broken.code()).isEqualTo(1);
    assertThat(broken.err()).contains("failed 3 times",
        "kept in " + incomplete(model), "run `modelway pull " + REPO + "/" + FILE + "` again to resume");
    assertThat(model).doesNotExist();
    byte[] kept = Files.readAllBytes(incomplete(model));
    assertThat(kept.length).isPositive().isLessThanOrEqualTo(3 * slice);
    assertThat(kept).isEqualTo(Arrays.copyOf(MODEL, kept.length));

    Run resumed = pull("pull", REPO + "/" + FILE);

    assertThat(resumed.code()).as(resumed.err()).isZero();
    assertThat(model).hasBinaryContent(MODEL);
    assertThat(hub.cdnRequests.get(hub.cdnRequests.size() - 1).range).contains("bytes=" + kept.length + "-");
  }

  @Test
  void resumesAStalledTransfer() {
    hub.stallFirstTransferAfter(MODEL.length / 2);

    Run r = pull(new DownloadPolicy(5, Duration.ZERO, Duration.ofMillis(300)), "pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(modelPath(REPO, FILE)).hasBinaryContent(MODEL);
    assertThat(r.err()).contains("no data for 0.3 s");
    assertThat(rangeStart(hub.cdnRequests.get(1))).isPositive().isLessThanOrEqualTo(MODEL.length / 2);
  }

  @Test
  void startsOverWhenTheServerIgnoresTheRange() throws Exception {
    hub.ignoreRanges();
    Path model = modelPath(REPO, FILE);
    Files.createDirectories(model.getParent());
    Files.write(incomplete(model), bytes(1000, 99));

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(model).hasBinaryContent(MODEL);
    assertThat(hub.cdnRequests).singleElement().satisfies(s -> assertThat(s.range).contains("bytes=1000-"));
    assertThat(r.err()).contains("Starting over");
  }

  @Test
  void rejectsAChecksumMismatchAndDeletesTheDownload() {
    hub.claimSha256(REPO, FILE, "ab".repeat(32));

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("SHA-256 mismatch", "ab".repeat(32), "deleted");
    Path model = modelPath(REPO, FILE);
    assertThat(model).doesNotExist();
    assertThat(incomplete(model)).doesNotExist();
  }

  @Test
  void saysUpToDateWithoutDownloadingAgain() {
    assertThat(pull("pull", REPO + "/" + FILE).code()).isZero();

    Run again = pull("pull", REPO + "/" + FILE);

    assertThat(again.code()).isZero();
    assertThat(again.out()).contains("Up to date: " + modelPath(REPO, FILE));
    assertThat(hub.cdnRequests).hasSize(1);
  }

  @Test
  void replacesAFileThatDiffersFromTheHubs() throws Exception {
    Path model = modelPath(REPO, FILE);
    Files.createDirectories(model.getParent());
    Files.write(model, bytes(MODEL.length, 7));

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Downloaded: ");
    assertThat(model).hasBinaryContent(MODEL);
  }

  @Test
  void takesTheOnlyGgufWhenNoFileIsNamed() {
    Run r = pull("pull", REPO);

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(modelPath(REPO, FILE)).hasBinaryContent(MODEL);
    assertThat(hub.hubRequests.get(0).path).isEqualTo("/api/models/" + REPO + "/tree/main");
  }

  @Test
  void takesTheQ4KmGgufAmongSeveralInSubdirectories() {
    hub.repo("acme/Many-GGUF", Map.of(
        "Q8_0/many.Q8_0.gguf", bytes(10, 3),
        "Q4_K_M/many.Q4_K_M.gguf", MODEL,
        "config.json", bytes(10, 4)));

    Run r = pull("pull", "acme/Many-GGUF");

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.err()).contains("taking the Q4_K_M one");
    assertThat(modelPath("acme/Many-GGUF", "Q4_K_M/many.Q4_K_M.gguf")).hasBinaryContent(MODEL);
  }

  @Test
  void refusesAnAmbiguousRepoWithExit2AndListsTheCandidates() {
    hub.repo("acme/Ambiguous-GGUF", Map.of(
        "a.Q2_K.gguf", bytes(10, 5), "a.Q5_K_M.gguf", bytes(10, 6), "a.Q8_0.gguf", bytes(10, 7)))
        .pageTreeBy(2);

    Run r = pull("pull", "acme/Ambiguous-GGUF");

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("has 3 GGUF files; name the one to pull",
        "modelway pull acme/Ambiguous-GGUF/", "a.Q2_K.gguf", "a.Q5_K_M.gguf", "a.Q8_0.gguf");
    assertThat(hub.cdnRequests).isEmpty();
    assertThat(dir.resolve("models")).doesNotExist();
  }

  @Test
  void reportsAMissingFileOrRepoAsNotFoundWithExit2() {
    Run missingFile = pull("pull", REPO + "/nope.gguf");
    assertThat(missingFile.code()).isEqualTo(2);
    assertThat(missingFile.err()).contains("File nope.gguf not found in " + REPO, "HTTP 404");

    Run missingRepo = pull("pull", "nobody/nothing");
    assertThat(missingRepo.code()).isEqualTo(2);
    assertThat(missingRepo.err()).contains("Repository nobody/nothing not found", "HTTP 404");

    Run missingRevision = pull("pull", REPO + "/" + FILE, "--revision", "v9");
    assertThat(missingRevision.code()).isEqualTo(2);
    assertThat(missingRevision.err()).contains("Revision 'v9' not found");
  }

  @Test
  void rejectsWhatIsNotARepoWithExit2() {
    assertThat(pull("pull", "just-a-name").err()).contains("expected: OWNER/NAME");
    assertThat(pull("pull", "just-a-name").code()).isEqualTo(2);
    Run traversal = pull("pull", REPO + "/../../../etc/passwd");
    assertThat(traversal.code()).isEqualTo(2);
    assertThat(traversal.err()).contains("expected: a path inside the repository");
    assertThat(hub.hubRequests).isEmpty();
  }

  @Test
  void failsWithExit1WhenTheHubCannotBeReached() {
    env.put("HF_ENDPOINT", "http://127.0.0.1:1");

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("Cannot reach http://127.0.0.1:1", "cannot connect");
  }

  @Test
  void rejectsAnInvalidHfEndpointWithExit2() {
    env.put("HF_ENDPOINT", "ftp://mirror");

    Run r = pull("pull", REPO + "/" + FILE);

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("HF_ENDPOINT: 'ftp://mirror' (expected: an http:// or https:// URL");
  }

  @Test
  void helpNamesTheArgumentAndOptions() {
    StringWriter out = new StringWriter();
    CommandLine cli = Modelway.commandLine();
    cli.setOut(new PrintWriter(out));
    assertThat(cli.execute("pull", "--help")).isZero();
    assertThat(out.toString()).contains("REPO[/FILE]", "--data-dir=DIR", "--revision=REV", "HF_TOKEN", "HF_ENDPOINT");
  }

  private static byte[] bytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }
}
