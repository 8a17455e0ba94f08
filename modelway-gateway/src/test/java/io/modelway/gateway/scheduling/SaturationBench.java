package io.modelway.gateway.scheduling;

import static io.modelway.gateway.BenchSupport.field;
import static io.modelway.gateway.BenchSupport.fmt;
import static io.modelway.gateway.BenchSupport.percentile;
import static io.modelway.gateway.BenchSupport.round;
import static io.modelway.gateway.BenchSupport.sleepUntil;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The load generator of {@code bench/priority-saturation.sh}: streamed chat calls of one tenant
 * against a gateway, measured from the client.
 *
 * <ul>
 *   <li>{@code open --rate R …}: open loop, calls arriving as a Poisson process of {@code R} per
 *       second for {@code --duration} seconds, each on a thread of its own whatever the others
 *       are doing (so a slow gateway does not slow the arrivals down).
 *   <li>{@code closed --clients N …}: closed loop, {@code N} clients each sending its next call
 *       when its last one ended; what the fleet carries when kept busy.
 *   <li>{@code report FILE}: the Markdown table of the JSON lines in {@code FILE}, and the ratio
 *       of the critical class's p99 time to first token loaded over unloaded.
 * </ul>
 *
 * <p>Each call's {@code max_tokens} is drawn uniformly from {@code --max-tokens} / 2 to 3 /
 * 2 × {@code --max-tokens} (exactly {@code --max-tokens} with {@code --vary-tokens false}): answers
 * of one length make calls that start together end together, which synchronizes a saturated
 * fleet's slots into bursts. Every call has a prompt of its own (so no engine's prefix cache helps), no temperature or
 * seed and {@code Cache-Control: no-cache, no-store} (so the gateway's response cache neither
 * answers nor keeps it). Calls that start in the first {@code --warmup} seconds are not measured.
 * Prints one line of JSON: calls, answers by status (200, 429, 503, other), time to first token
 * and end to end (p50, p90, p99, max, in ms) of the calls answered with a whole stream, and the
 * throughput. JDK only, so the script compiles and runs it with {@code javac}/{@code java}; also
 * compiled by the normal build, so it does not rot.
 */
public final class SaturationBench {
  private static final Pattern CONTENT = Pattern.compile("\"content\":\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final String WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india "
      + "juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor "
      + "whiskey xray yankee zulu ledger invoice account balance transfer deposit statement";

  private final Map<String, String> args;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
  private final AtomicLong callIds = new AtomicLong();

  private SaturationBench(Map<String, String> args) {
    this.args = args;
  }

  /** One call: its status (0: no answer), and its times in nanoseconds (first token -1: none). */
  private record Result(long start, long firstToken, long end, int status, String error) {
    boolean ok() {
      return status == 200 && error.isEmpty();
    }
  }

  public static void main(String[] argv) throws Exception {
    if (argv.length == 2 && argv[0].equals("report")) {
      System.out.print(markdown(Files.readAllLines(Path.of(argv[1]))));
      return;
    }
    if (argv.length == 0 || !(argv[0].equals("open") || argv[0].equals("closed"))) {
      throw new IllegalArgumentException("usage: open|closed --name value … | report FILE");
    }
    Map<String, String> args = new HashMap<>();
    for (int i = 1; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --name value, not " + argv[i]);
      }
      args.put(argv[i].substring(2), argv[i + 1]);
    }
    new SaturationBench(args).run(argv[0].equals("open"));
  }

  private String arg(String name, String fallback) {
    return args.getOrDefault(name, fallback);
  }

  private double num(String name, double fallback) {
    return Double.parseDouble(arg(name, Double.toString(fallback)));
  }

  private void run(boolean open) throws Exception {
    double duration = num("duration", 30);
    double warmup = num("warmup", 5);
    long seed = (long) num("seed", 1);
    Random random = new Random(seed);
    ExecutorService callers = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "caller");
      t.setDaemon(true);
      return t;
    });
    long t0 = System.nanoTime();
    long warmupEnd = t0 + (long) (warmup * 1e9);
    long end = t0 + (long) (duration * 1e9);
    if (open) {
      double rate = num("rate", 1);
      long next = t0;
      while (true) {
        next += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
        if (next >= end) {
          break;
        }
        sleepUntil(next);
        long callSeed = random.nextLong();
        callers.execute(() -> measure(new Random(callSeed), warmupEnd));
      }
    } else {
      int clients = (int) num("clients", 8);
      for (int i = 0; i < clients; i++) {
        long clientSeed = random.nextLong();
        callers.execute(() -> {
          Random own = new Random(clientSeed);
          while (System.nanoTime() < end) {
            measure(own, warmupEnd);
          }
        });
      }
      sleepUntil(end);
    }
    callers.shutdown();
    if (!callers.awaitTermination(3, TimeUnit.MINUTES)) {
      System.err.println("some calls had not ended 3 minutes after the last arrival");
    }
    report(end - warmupEnd);
  }

  private void measure(Random random, long warmupEnd) {
    Result result = call(random);
    if (result.start() >= warmupEnd) {
      results.add(result);
    }
  }

  /** One streamed chat call with a prompt of its own. */
  private Result call(Random random) {
    String prompt = "Call " + callIds.incrementAndGet() + " " + random.nextLong() + ". "
        + words(random, (int) num("prompt-words", 40));
    int mean = (int) num("max-tokens", 32);
    int maxTokens = arg("vary-tokens", "true").equals("true")
        ? mean / 2 + random.nextInt(mean + 1) : mean;
    String body = "{\"model\":\"" + arg("model", "chat") + "\",\"stream\":true,\"max_tokens\":"
        + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\""
        + prompt + "\"}]}";
    HttpRequest request = HttpRequest.newBuilder(URI.create(arg("url", "http://127.0.0.1:8080")
            + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + arg("key", ""))
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-cache, no-store")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
    long start = System.nanoTime();
    long first = -1;
    try {
      HttpResponse<InputStream> response = http.send(request,
          HttpResponse.BodyHandlers.ofInputStream());
      try (BufferedReader reader = new BufferedReader(
          new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        if (response.statusCode() != 200) {
          String text = reader.lines().reduce("", String::concat);
          return new Result(start, -1, System.nanoTime(), response.statusCode(),
              "status " + response.statusCode() + ": " + text);
        }
        String line;
        while ((line = reader.readLine()) != null) {
          if (!line.startsWith("data:")) {
            continue;
          }
          String data = line.substring(5).trim();
          if (data.equals("[DONE]")) {
            return first < 0
                ? new Result(start, -1, System.nanoTime(), 200, "no token before [DONE]")
                : new Result(start, first, System.nanoTime(), 200, "");
          }
          if (data.startsWith("{\"error\"")) {
            return new Result(start, first, System.nanoTime(), 200, data);
          }
          if (first < 0 && CONTENT.matcher(data).find()) {
            first = System.nanoTime();
          }
        }
        return new Result(start, first, System.nanoTime(), 200, "stream ended without [DONE]");
      }
    } catch (IOException e) {
      return new Result(start, first, System.nanoTime(), 0, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(start, first, System.nanoTime(), 0, e.toString());
    }
  }

  private void report(long measuredNanos) throws IOException {
    List<Result> all = new ArrayList<>(results);
    List<Result> ok = all.stream().filter(Result::ok).toList();
    double[] ttft = ok.stream().mapToDouble(r -> (r.firstToken() - r.start()) / 1e6).sorted()
        .toArray();
    double[] e2e = ok.stream().mapToDouble(r -> (r.end() - r.start()) / 1e6).sorted().toArray();
    long s429 = all.stream().filter(r -> r.status() == 429).count();
    long s503 = all.stream().filter(r -> r.status() == 503).count();
    StringBuilder json = new StringBuilder("{");
    field(json, "label", "\"" + arg("label", "run") + "\"");
    field(json, "calls", all.size());
    field(json, "ok", ok.size());
    field(json, "status_429", s429);
    field(json, "status_503", s503);
    field(json, "other_errors", all.size() - ok.size() - s429 - s503);
    field(json, "rejected_rate", all.isEmpty() ? 0.0 : (double) (s429 + s503) / all.size());
    field(json, "throughput_rps", ok.size() / (measuredNanos / 1e9));
    for (int p : new int[] {50, 90, 99}) {
      field(json, "ttft_p" + p + "_ms", percentile(ttft, p));
    }
    field(json, "ttft_max_ms", ttft.length == 0 ? Double.NaN : ttft[ttft.length - 1]);
    for (int p : new int[] {50, 99}) {
      field(json, "e2e_p" + p + "_ms", percentile(e2e, p));
    }
    json.setLength(json.length() - 1);
    json.append('}');
    System.out.println(json);
    Map<String, Long> errors = new TreeMap<>();
    for (Result r : all) {
      if (!r.ok()) {
        String e = r.error().replaceAll("\\d+(\\.\\d+)?s", "Ns");
        errors.merge(e.length() > 200 ? e.substring(0, 200) : e, 1L, Long::sum);
      }
    }
    errors.forEach((e, n) -> System.err.println(n + " × " + e));
    String file = arg("out", "");
    if (!file.isBlank()) {
      Files.writeString(Path.of(file), json + "\n", StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }

  /**
   * The table of {@code lines} (one JSON object each, labelled {@code PHASE/CLASS}), then the
   * target: the critical class's p99 time to first token under load over unloaded, ≤ 1.5.
   */
  static String markdown(List<String> lines) {
    Map<String, Map<String, String>> rows = new LinkedHashMap<>();
    Pattern fields = Pattern.compile("\"([a-z0-9_]+)\":(\"[^\"]*\"|[^,}]+)");
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, String> row = new HashMap<>();
      Matcher m = fields.matcher(line);
      while (m.find()) {
        row.put(m.group(1), m.group(2).replace("\"", ""));
      }
      rows.put(row.getOrDefault("label", "?"), row);
    }
    String[][] columns = {
        {"label", "phase / class"}, {"calls", "calls"}, {"ok", "200"},
        {"status_429", "429"}, {"status_503", "503"}, {"other_errors", "other"},
        {"rejected_rate", "rejected"}, {"throughput_rps", "served/s"},
        {"ttft_p50_ms", "TTFT p50 ms"}, {"ttft_p90_ms", "p90"}, {"ttft_p99_ms", "p99"},
        {"ttft_max_ms", "max"}, {"e2e_p50_ms", "e2e p50 ms"}, {"e2e_p99_ms", "p99"}};
    StringBuilder out = new StringBuilder("\n|");
    for (String[] c : columns) {
      out.append(' ').append(c[1]).append(" |");
    }
    out.append("\n|");
    for (int i = 0; i < columns.length; i++) {
      out.append(i == 0 ? "---|" : "---:|");
    }
    out.append('\n');
    for (Map<String, String> row : rows.values()) {
      out.append('|');
      for (String[] c : columns) {
        String v = row.getOrDefault(c[0], "");
        String cell = c[0].endsWith("_ms") ? round(v, 0)
            : c[0].equals("rejected_rate") || c[0].equals("throughput_rps") ? round(v, 2) : v;
        out.append(' ').append(cell).append(" |");
      }
      out.append('\n');
    }
    Map<String, String> unloaded = rows.get("unloaded/critical");
    Map<String, String> loaded = rows.get("saturated/critical");
    if (unloaded != null && loaded != null) {
      double a = Double.parseDouble(unloaded.get("ttft_p99_ms"));
      double b = Double.parseDouble(loaded.get("ttft_p99_ms"));
      double ratio = b / a;
      out.append(String.format(Locale.ROOT, "%n- critical TTFT p99, saturated / unloaded: %.0f / %.0f"
          + " ms = **%.2f** (target ≤ 1.50: **%s**)%n", b, a, ratio,
          ratio <= 1.5 ? "met" : "not met"));
      double a50 = Double.parseDouble(unloaded.get("ttft_p50_ms"));
      double b50 = Double.parseDouble(loaded.get("ttft_p50_ms"));
      out.append(String.format(Locale.ROOT, "- critical TTFT p50, saturated / unloaded: %.0f / %.0f"
          + " ms = %.2f%n", b50, a50, b50 / a50));
    }
    return out.toString();
  }

  private static String words(Random random, int n) {
    String[] vocabulary = WORDS.split(" ");
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      text.append(i == 0 ? "" : " ").append(vocabulary[random.nextInt(vocabulary.length)]);
    }
    return text.toString();
  }

}
