package io.modelway.gateway.routing;

import static io.modelway.gateway.BenchSupport.field;
import static io.modelway.gateway.BenchSupport.fmt;
import static io.modelway.gateway.BenchSupport.percentile;
import static io.modelway.gateway.BenchSupport.round;
import static io.modelway.gateway.BenchSupport.sleepUntil;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The workload generator of {@code bench/routing-policies.sh}: chat sessions against a gateway,
 * measured from the client, and the load of each simulated instance, sampled from its
 * {@code /sim/stats}.
 *
 * <p>Sessions arrive as a Poisson process ({@code --session-rate} per second, for
 * {@code --duration} seconds). A session is {@code --turns} streamed chat calls: a system prompt,
 * then a first user message carrying a document of its own, then short questions; each turn sends
 * the whole conversation so far (with the answers received), after an exponentially distributed
 * think time, with header {@code x-session-id: session-N}. With probability
 * {@code --prefix-share} a session's system prompt is one of
 * {@code --system-prompts} shared ones, else one of its own. Calls that start before
 * {@code --warmup} seconds are not measured; neither are the instance samples then.
 *
 * <p>It prints one line of JSON with TTFT and end-to-end latency (mean, p50, p90, p99, in ms),
 * throughput, the error rate, and the balance over the instances: the max/mean of their
 * time-averaged calls in flight, and the longest stretch during which some instance was idle
 * while another had calls queued. JDK only, so the script compiles and runs it with
 * {@code javac}/{@code java} and nothing else; also compiled by the normal build, so it does not
 * rot.
 */
public final class RoutingBench {
  private static final Pattern CONTENT = Pattern.compile("\"content\":\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern NUMBER = Pattern.compile("\"(inflight|running|waiting)\":(\\d+)");
  private static final String WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india "
      + "juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor "
      + "whiskey xray yankee zulu ledger invoice account balance transfer deposit statement";

  private final Map<String, String> args;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
  private final AtomicInteger sessionIds = new AtomicInteger();

  private RoutingBench(Map<String, String> args) {
    this.args = args;
  }

  /** One measured call. */
  private record Result(long startNanos, long ttftNanos, long endNanos, boolean ok, int tokens,
      String error) {}

  /**
   * {@code --name value …}: runs a workload and prints its line of JSON; or {@code report FILE}:
   * prints the Markdown tables of the lines in FILE.
   */
  public static void main(String[] argv) throws Exception {
    if (argv.length == 2 && argv[0].equals("report")) {
      System.out.print(markdown(Files.readAllLines(Path.of(argv[1]))));
      return;
    }
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value, not " + argv[i]);
      }
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    new RoutingBench(args).run();
  }

  private String arg(String name, String fallback) {
    return args.getOrDefault(name, fallback);
  }

  private double num(String name, double fallback) {
    return Double.parseDouble(arg(name, Double.toString(fallback)));
  }

  private void run() throws Exception {
    String url = arg("url", "http://127.0.0.1:8080");
    String key = arg("key", System.getenv().getOrDefault("MODELWAY_KEY", ""));
    String model = arg("model", "chat");
    double sessionRate = num("session-rate", 1.6);
    double duration = num("duration", 60);
    double warmup = num("warmup", 10);
    int turns = (int) num("turns", 5);
    int systemPrompts = (int) num("system-prompts", 4);
    double prefixShare = num("prefix-share", 1.0);
    int systemWords = (int) num("system-words", 240);
    int documentWords = (int) num("document-words", 320);
    int questionWords = (int) num("question-words", 16);
    double thinkSeconds = num("think", 1.0);
    int maxTokens = (int) num("max-tokens", 32);
    long seed = (long) num("seed", 1);
    String label = arg("label", "run");
    List<String> sims = arg("sims", "").isBlank() ? List.of()
        : Arrays.asList(arg("sims", "").split(","));

    Random random = new Random(seed);
    List<String> shared = new ArrayList<>();
    for (int i = 0; i < systemPrompts; i++) {
      shared.add("You are assistant number " + i + " of the bank. " + words(random, systemWords));
    }

    long t0 = System.nanoTime();
    long warmupEnd = t0 + (long) (warmup * 1e9);
    long arrivalsEnd = t0 + (long) (duration * 1e9);
    AtomicBoolean sampling = new AtomicBoolean(true);
    Sampler sampler = new Sampler(sims, warmupEnd);
    Thread samplerThread = new Thread(() -> sampler.run(sampling), "sampler");
    samplerThread.setDaemon(true);
    samplerThread.start();

    ExecutorService sessions = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "session");
      t.setDaemon(true);
      return t;
    });
    List<CountDownLatch> done = new ArrayList<>();
    long next = t0;
    while (true) {
      next += (long) (-Math.log(1 - random.nextDouble()) / sessionRate * 1e9);
      if (next >= arrivalsEnd) {
        break;
      }
      sleepUntil(next);
      long sessionSeed = random.nextLong();
      String system = random.nextDouble() < prefixShare
          ? shared.get(random.nextInt(Math.max(1, shared.size())))
          : "You are a one-off assistant " + sessionSeed + ". " + words(random, systemWords);
      CountDownLatch latch = new CountDownLatch(1);
      done.add(latch);
      sessions.execute(() -> {
        try {
          session(url, key, model, system, new Random(sessionSeed), turns, documentWords,
              questionWords, thinkSeconds, maxTokens, warmupEnd);
        } finally {
          latch.countDown();
        }
      });
    }
    long measuredEnd = System.nanoTime();
    for (CountDownLatch latch : done) {
      latch.await(5, TimeUnit.MINUTES);
    }
    sampling.set(false);
    samplerThread.join(2000);
    report(label, measuredEnd - warmupEnd, sampler);
  }

  private void session(String url, String key, String model, String system, Random random,
      int turns, int documentWords, int questionWords, double thinkSeconds, int maxTokens,
      long warmupEnd) {
    int id = sessionIds.incrementAndGet();
    List<String[]> messages = new ArrayList<>();
    messages.add(new String[] {"system", system});
    for (int turn = 0; turn < turns; turn++) {
      String question = turn == 0
          ? "Session " + id + ". Read this document and keep it in mind: "
              + words(random, documentWords)
          : "Question " + turn + ": " + words(random, questionWords) + "?";
      messages.add(new String[] {"user", question});
      Result result = call(url, key, model, "session-" + id, messages, maxTokens);
      if (result.startNanos() >= warmupEnd) {
        results.add(result);
      }
      if (!result.ok()) {
        return;
      }
      messages.add(new String[] {"assistant", result.error()}); // the answer, on success
      if (turn + 1 < turns) {
        sleepUntil(System.nanoTime() + (long) (-Math.log(1 - random.nextDouble()) * thinkSeconds * 1e9));
      }
    }
  }

  /** One streamed chat call; on success {@code error} holds the answer's text. */
  private Result call(String url, String key, String model, String session,
      List<String[]> messages, int maxTokens) {
    StringBuilder body = new StringBuilder("{\"model\":\"").append(model)
        .append("\",\"stream\":true,\"max_tokens\":").append(maxTokens).append(",\"messages\":[");
    for (int i = 0; i < messages.size(); i++) {
      body.append(i == 0 ? "" : ",").append("{\"role\":\"").append(messages.get(i)[0])
          .append("\",\"content\":\"").append(escape(messages.get(i)[1])).append("\"}");
    }
    body.append("]}");
    HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .header("x-session-id", session)
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
        .build();
    long start = System.nanoTime();
    long ttft = -1;
    int tokens = 0;
    StringBuilder answer = new StringBuilder();
    try {
      HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (BufferedReader reader = new BufferedReader(
          new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        if (response.statusCode() != 200) {
          String text = reader.lines().reduce("", String::concat);
          return new Result(start, -1, System.nanoTime(), false, 0,
              "status " + response.statusCode() + ": " + text);
        }
        boolean doneSeen = false;
        String line;
        while ((line = reader.readLine()) != null) {
          if (!line.startsWith("data:")) {
            continue;
          }
          String data = line.substring(5).trim();
          if (data.equals("[DONE]")) {
            doneSeen = true;
            break;
          }
          if (data.startsWith("{\"error\"")) {
            return new Result(start, ttft, System.nanoTime(), false, tokens, data);
          }
          Matcher m = CONTENT.matcher(data);
          if (m.find()) {
            if (ttft < 0) {
              ttft = System.nanoTime();
            }
            tokens++;
            answer.append(unescape(m.group(1)));
          }
        }
        if (!doneSeen || ttft < 0) {
          return new Result(start, ttft, System.nanoTime(), false, tokens, "stream ended early");
        }
      }
    } catch (IOException e) {
      return new Result(start, ttft, System.nanoTime(), false, tokens, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(start, ttft, System.nanoTime(), false, tokens, e.toString());
    }
    return new Result(start, ttft, System.nanoTime(), true, tokens, answer.toString());
  }

  /** Samples each instance's calls in flight and queue every 100 ms. */
  private final class Sampler {
    private final List<String> sims;
    private final long from;
    private final double[] inflightSum;
    private int samples;
    private double idleWhileQueuedLongest;
    private double idleWhileQueuedTotal;
    private double stretch;

    Sampler(List<String> sims, long from) {
      this.sims = sims;
      this.from = from;
      this.inflightSum = new double[sims.size()];
    }

    void run(AtomicBoolean going) {
      long next = System.nanoTime();
      while (going.get() && !sims.isEmpty()) {
        next += 100_000_000L;
        sleepUntil(next);
        int[] inflight = new int[sims.size()];
        int[] waiting = new int[sims.size()];
        boolean complete = true;
        for (int i = 0; i < sims.size(); i++) {
          try {
            String stats = http.send(HttpRequest.newBuilder(URI.create(sims.get(i) + "/sim/stats"))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = NUMBER.matcher(stats);
            while (m.find()) {
              int value = Integer.parseInt(m.group(2));
              switch (m.group(1)) {
                case "inflight" -> inflight[i] = value;
                case "waiting" -> waiting[i] = value;
                default -> { }
              }
            }
          } catch (IOException | InterruptedException e) {
            complete = false;
          }
        }
        if (!complete || System.nanoTime() < from) {
          continue;
        }
        samples++;
        boolean idle = false;
        boolean queued = false;
        for (int i = 0; i < sims.size(); i++) {
          inflightSum[i] += inflight[i];
          idle |= inflight[i] == 0;
          queued |= waiting[i] > 0;
        }
        if (idle && queued) {
          stretch += 0.1;
          idleWhileQueuedTotal += 0.1;
          idleWhileQueuedLongest = Math.max(idleWhileQueuedLongest, stretch);
        } else {
          stretch = 0;
        }
      }
    }
  }

  private void report(String label, long measuredNanos, Sampler sampler) throws IOException {
    List<Result> all = new ArrayList<>(results);
    List<Result> ok = all.stream().filter(Result::ok).toList();
    double[] ttft = ok.stream().mapToDouble(r -> (r.ttftNanos() - r.startNanos()) / 1e6).sorted().toArray();
    double[] e2e = ok.stream().mapToDouble(r -> (r.endNanos() - r.startNanos()) / 1e6).sorted().toArray();
    double seconds = measuredNanos / 1e9;
    long tokens = ok.stream().mapToLong(Result::tokens).sum();
    double balance = Double.NaN;
    if (sampler.samples > 0) {
      double max = Arrays.stream(sampler.inflightSum).max().orElse(0);
      double mean = Arrays.stream(sampler.inflightSum).average().orElse(0);
      balance = mean == 0 ? Double.NaN : max / mean;
    }
    StringBuilder json = new StringBuilder("{");
    field(json, "label", "\"" + label + "\"");
    field(json, "calls", all.size());
    field(json, "errors", all.size() - ok.size());
    field(json, "error_rate", all.isEmpty() ? 0 : (double) (all.size() - ok.size()) / all.size());
    field(json, "throughput_rps", ok.size() / seconds);
    field(json, "tokens_per_s", tokens / seconds);
    field(json, "ttft_mean_ms", mean(ttft));
    field(json, "ttft_p50_ms", percentile(ttft, 50));
    field(json, "ttft_p90_ms", percentile(ttft, 90));
    field(json, "ttft_p99_ms", percentile(ttft, 99));
    field(json, "e2e_mean_ms", mean(e2e));
    field(json, "e2e_p50_ms", percentile(e2e, 50));
    field(json, "e2e_p90_ms", percentile(e2e, 90));
    field(json, "e2e_p99_ms", percentile(e2e, 99));
    field(json, "inflight_max_over_mean", balance);
    field(json, "inflight_per_instance", "[" + String.join(",", Arrays.stream(sampler.inflightSum)
        .mapToObj(s -> fmt(sampler.samples == 0 ? 0 : s / sampler.samples)).toList()) + "]");
    field(json, "idle_while_queued_longest_s", sampler.idleWhileQueuedLongest);
    field(json, "idle_while_queued_total_s", sampler.idleWhileQueuedTotal);
    json.setLength(json.length() - 1);
    json.append("}");
    PrintStream out = System.out;
    out.println(json);
    all.stream().filter(r -> !r.ok()).map(Result::error).distinct().limit(5)
        .forEach(e -> System.err.println("error: " + e));
    String file = arg("out", "");
    if (!file.isBlank()) {
      Files.writeString(Path.of(file), json + "\n", StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }

  static double mean(double[] sorted) {
    return sorted.length == 0 ? Double.NaN : Arrays.stream(sorted).average().orElseThrow();
  }

  private static String words(Random random, int n) {
    String[] vocabulary = WORDS.split(" ");
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      text.append(i == 0 ? "" : " ").append(vocabulary[random.nextInt(vocabulary.length)]);
      if (random.nextInt(12) == 0) {
        text.append(random.nextInt(1000));
      }
    }
    return text.toString();
  }

  private static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }

  private static String unescape(String text) {
    if (text.indexOf('\\') < 0) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '\\' || i + 1 == text.length()) {
        out.append(c);
        continue;
      }
      char e = text.charAt(++i);
      switch (e) {
        case 'n' -> out.append('\n');
        case 't' -> out.append('\t');
        case 'r' -> out.append('\r');
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'u' -> {
          out.append((char) Integer.parseInt(text.substring(i + 1, Math.min(text.length(), i + 5)), 16));
          i += 4;
        }
        default -> out.append(e);
      }
    }
    return out.toString();
  }

  /**
   * The results of {@code lines} (one JSON object each, {@code label} being
   * {@code WORKLOAD/POLICY}) as one Markdown table per workload, then the targets: mean TTFT of
   * prefix-aware against round-robin on the multi-turn workload, and prefix-aware against
   * least-outstanding on the one without shared prefixes.
   */
  static String markdown(List<String> lines) {
    Map<String, List<Map<String, String>>> byWorkload = new java.util.LinkedHashMap<>();
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, String> row = new HashMap<>();
      Matcher m = Pattern.compile("\"([a-z0-9_]+)\":(\"[^\"]*\"|\\[[^]]*]|[^,}]+)").matcher(line);
      while (m.find()) {
        row.put(m.group(1), m.group(2).replace("\"", ""));
      }
      String label = row.getOrDefault("label", "?/?");
      int slash = label.indexOf('/');
      row.put("workload", slash < 0 ? label : label.substring(0, slash));
      row.put("policy", slash < 0 ? label : label.substring(slash + 1));
      byWorkload.computeIfAbsent(row.get("workload"), w -> new ArrayList<>()).add(row);
    }
    StringBuilder out = new StringBuilder();
    String[][] columns = {
        {"policy", "policy"}, {"calls", "calls"}, {"error_rate", "error rate"},
        {"throughput_rps", "calls/s"}, {"tokens_per_s", "tokens/s"},
        {"ttft_mean_ms", "TTFT mean ms"}, {"ttft_p50_ms", "p50"}, {"ttft_p90_ms", "p90"},
        {"ttft_p99_ms", "p99"}, {"e2e_mean_ms", "e2e mean ms"}, {"e2e_p50_ms", "p50"},
        {"e2e_p90_ms", "p90"}, {"e2e_p99_ms", "p99"},
        {"inflight_max_over_mean", "in flight max/mean"},
        {"idle_while_queued_longest_s", "idle while queued, longest s"}};
    for (Map.Entry<String, List<Map<String, String>>> workload : byWorkload.entrySet()) {
      out.append("\n### ").append(workload.getKey()).append("\n\n|");
      for (String[] c : columns) {
        out.append(' ').append(c[1]).append(" |");
      }
      out.append("\n|");
      for (int i = 0; i < columns.length; i++) {
        out.append(i == 0 ? "---|" : "---:|");
      }
      out.append('\n');
      for (Map<String, String> row : workload.getValue()) {
        out.append('|');
        for (String[] c : columns) {
          String v = row.getOrDefault(c[0], "");
          String cell = c[0].equals("policy") || c[0].equals("calls") ? v
              : c[0].endsWith("_ms") ? round(v, 0)
              : c[0].startsWith("idle") || c[0].equals("tokens_per_s") ? round(v, 1)
              : round(v, 2);
          out.append(' ').append(cell).append(" |");
        }
        out.append('\n');
      }
    }
    out.append('\n');
    ratio(out, byWorkload, "multi-turn", "prefix-aware", "round-robin", "ttft_mean_ms",
        "prefix-aware mean TTFT vs round-robin (multi-turn, shared prefixes)", "cut by ≥ 40 %");
    ratio(out, byWorkload, "no-shared-prefix", "prefix-aware", "least-outstanding",
        "ttft_mean_ms", "prefix-aware mean TTFT vs least-outstanding (no shared prefixes)",
        "within 5 %");
    ratio(out, byWorkload, "no-shared-prefix", "prefix-aware", "least-outstanding",
        "e2e_mean_ms", "prefix-aware mean e2e latency vs least-outstanding (no shared prefixes)",
        "within 5 %");
    return out.toString();
  }

  private static void ratio(StringBuilder out, Map<String, List<Map<String, String>>> rows,
      String workload, String policy, String baseline, String metric, String what, String target) {
    List<Map<String, String>> list = rows.getOrDefault(workload, List.of());
    Map<String, String> a = list.stream().filter(r -> r.get("policy").equals(policy)).findFirst()
        .orElse(null);
    Map<String, String> b = list.stream().filter(r -> r.get("policy").equals(baseline)).findFirst()
        .orElse(null);
    if (a == null || b == null) {
      return;
    }
    double x = Double.parseDouble(a.get(metric));
    double y = Double.parseDouble(b.get(metric));
    out.append("- ").append(what).append(": ").append(round(Double.toString(x), 0)).append(" / ")
        .append(round(Double.toString(y), 0)).append(" ms = ")
        .append(String.format(Locale.ROOT, "%.2f", x / y)).append(" (")
        .append(String.format(Locale.ROOT, "%+.0f %%", (x / y - 1) * 100)).append("; target: ")
        .append(target).append(")\n");
  }

}
