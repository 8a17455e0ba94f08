package io.modelway.gateway.cache.semantic;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.runtime.onnx.EmbeddingOptions;
import io.modelway.runtime.onnx.OnnxEmbeddingBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Precision and recall of the semantic cache's hit decision over the labelled pairs of
 * {@code bench/semantic-cache/pairs.tsv}, with the real embedding model (all-MiniLM-L6-v2 through
 * {@link OnnxEmbeddingBackend}): for each threshold t of a sweep, of "similarity ≥ t" alone and of
 * "similarity ≥ t and the lexical guard agrees" ({@link SemanticMatch}). A pair labelled
 * {@code hit} is a positive; precision is the share of predicted hits that are labelled hits,
 * recall the share of labelled hits predicted. The default threshold is the lowest t at which the
 * guarded decision's precision is at least {@link #TARGET_PRECISION}.
 *
 * <p>Run by {@code bench/semantic-cache.sh}; {@link SemanticMatchQualityTest} holds the default
 * to the targets.
 */
final class SemanticCacheEvaluation {
  static final double TARGET_PRECISION = 0.98;
  static final double TARGET_RECALL = 0.6;
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** One labelled pair: {@code hit} when b may take a's cached answer. */
  record Pair(boolean hit, String kind, String a, String b) {}

  /** A pair with its measured similarity and the guard's verdict. */
  record Scored(Pair pair, double similarity, SemanticMatch.Verdict guard) {}

  /** Counts of one decision rule at one threshold. */
  record Counts(int truePositives, int falsePositives, int falseNegatives) {
    double precision() {
      int predicted = truePositives + falsePositives;
      return predicted == 0 ? 1.0 : (double) truePositives / predicted;
    }

    double recall() {
      int positives = truePositives + falseNegatives;
      return positives == 0 ? 0.0 : (double) truePositives / positives;
    }
  }

  /** One threshold's outcome: similarity alone, and with the guard. */
  record Row(double threshold, Counts similarityOnly, Counts guarded) {}

  private SemanticCacheEvaluation() {}

  /** The pairs file: found from the repository root or from a module directory. */
  static Path pairsFile() {
    for (Path p : List.of(Path.of("bench/semantic-cache/pairs.tsv"),
        Path.of("../bench/semantic-cache/pairs.tsv"))) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException("bench/semantic-cache/pairs.tsv not found from "
        + Path.of("").toAbsolutePath());
  }

  /** Reads a TSV of label, kind, question a, question b, with a header line. */
  static List<Pair> readPairs(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<Pair> pairs = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split("\t", -1);
      if (f.length != 4 || !(f[0].equals("hit") || f[0].equals("miss"))) {
        throw new IllegalArgumentException(file + ":" + (i + 1)
            + ": expected: hit|miss, kind, question a, question b separated by tabs");
      }
      pairs.add(new Pair(f[0].equals("hit"), f[1], f[2], f[3]));
    }
    return pairs;
  }

  /** Embeds every question in one call and scores every pair. */
  static List<Scored> score(OnnxEmbeddingBackend model, List<Pair> pairs) {
    Map<String, Integer> texts = new LinkedHashMap<>();
    for (Pair p : pairs) {
      texts.putIfAbsent(p.a(), texts.size());
      texts.putIfAbsent(p.b(), texts.size());
    }
    List<float[]> vectors = embed(model, new ArrayList<>(texts.keySet()));
    List<Scored> scored = new ArrayList<>(pairs.size());
    for (Pair p : pairs) {
      double similarity = dot(vectors.get(texts.get(p.a())), vectors.get(texts.get(p.b())));
      scored.add(new Scored(p, similarity, SemanticMatch.guard(p.a(), p.b())));
    }
    return scored;
  }

  static List<float[]> embed(OnnxEmbeddingBackend model, List<String> texts) {
    Map<String, Object> request = Map.of(
        "model", model.name(), "input", texts, "encoding_format", "base64");
    BackendCall call = new BackendCall(
        Endpoint.EMBEDDINGS, JSON.writeValueAsBytes(request), false, "semantic-cache-eval");
    BackendResponse response = requireNonNull(model.send(call).block(Duration.ofMinutes(5)));
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    response.body().toIterable().forEach(body::writeBytes);
    if (response.status() != 200) {
      throw new IllegalStateException("embedding failed: " + body.toString(StandardCharsets.UTF_8));
    }
    JsonNode answer = JSON.readTree(body.toByteArray());
    List<float[]> vectors = new ArrayList<>(texts.size());
    for (JsonNode item : answer.path("data")) {
      ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(
          item.path("embedding").stringValue())).order(ByteOrder.LITTLE_ENDIAN);
      float[] v = new float[bytes.remaining() / Float.BYTES];
      bytes.asFloatBuffer().get(v);
      vectors.add(v);
    }
    return vectors;
  }

  static double dot(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += (double) a[i] * b[i];
    }
    return sum;
  }

  /** Counts at threshold {@code t}. */
  static Row at(List<Scored> scored, double t) {
    int tp = 0;
    int fp = 0;
    int fn = 0;
    int gtp = 0;
    int gfp = 0;
    int gfn = 0;
    SemanticMatch match = new SemanticMatch(t);
    for (Scored s : scored) {
      boolean near = s.similarity() >= t;
      boolean guarded = match.judge(s.pair().a(), s.pair().b(), s.similarity()).isHit();
      if (s.pair().hit()) {
        tp += near ? 1 : 0;
        fn += near ? 0 : 1;
        gtp += guarded ? 1 : 0;
        gfn += guarded ? 0 : 1;
      } else {
        fp += near ? 1 : 0;
        gfp += guarded ? 1 : 0;
      }
    }
    return new Row(t, new Counts(tp, fp, fn), new Counts(gtp, gfp, gfn));
  }

  /** Thresholds 0.50, 0.51, … 0.99. */
  static List<Row> sweep(List<Scored> scored) {
    List<Row> rows = new ArrayList<>();
    for (int hundredths = 50; hundredths <= 99; hundredths++) {
      rows.add(at(scored, hundredths / 100.0));
    }
    return rows;
  }

  /**
   * The lowest threshold of the sweep from which on the guarded precision stays at or above the
   * target: at it and at every higher threshold of the sweep, so that one pair more or less near
   * the threshold does not move it far.
   */
  static Optional<Row> chooseDefault(List<Row> rows) {
    Row chosen = null;
    for (int i = rows.size() - 1; i >= 0; i--) {
      if (rows.get(i).guarded().precision() < TARGET_PRECISION) {
        break;
      }
      chosen = rows.get(i);
    }
    return Optional.ofNullable(chosen);
  }

  public static void main(String[] args) {
    Path file = args.length > 0 ? Path.of(args[0]) : pairsFile();
    Optional<Path> holdoutFile = args.length > 1 ? Optional.of(Path.of(args[1])) : Optional.empty();
    List<Pair> pairs = readPairs(file);
    long start = System.nanoTime();
    List<Scored> scored;
    List<Scored> holdout;
    try (OnnxEmbeddingBackend model = OnnxEmbeddingBackend.load("all-minilm-l6-v2",
        new EmbeddingOptions(64, Duration.ofMillis(1), Runtime.getRuntime().availableProcessors()))) {
      scored = score(model, pairs);
      holdout = holdoutFile.map(h -> score(model, readPairs(h))).orElse(List.of());
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    List<Row> rows = sweep(scored);
    Optional<Row> chosen = chooseDefault(rows);
    long hits = pairs.stream().filter(Pair::hit).count();
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "%d pairs from %s: %d labelled hit, %d miss; "
        + "model load and embedding took %d ms.%n%n", pairs.size(), file, hits,
        pairs.size() - hits, millis));
    out.append("| threshold | precision (similarity only) | recall (similarity only) "
        + "| precision (with guard) | recall (with guard) |\n|---|---|---|---|---|\n");
    for (Row r : rows) {
      int hundredths = (int) Math.round(r.threshold() * 100);
      if (hundredths % 5 == 0 || hundredths >= 66 || chosen.map(c -> c.threshold() == r.threshold()).orElse(false)) {
        out.append(String.format(Locale.ROOT, "| %s%.2f%s | %.3f | %.3f | %.3f | %.3f |%n",
            chosen.isPresent() && chosen.get() == r ? "**" : "", r.threshold(),
            chosen.isPresent() && chosen.get() == r ? "**" : "",
            r.similarityOnly().precision(), r.similarityOnly().recall(),
            r.guarded().precision(), r.guarded().recall()));
      }
    }
    out.append('\n');
    if (chosen.isEmpty()) {
      out.append("No threshold reaches precision ").append(TARGET_PRECISION)
          .append(" with the guard; below, the details at the most precise one.\n");
    }
    {
      Row c = chosen.orElseGet(() -> rows.stream()
          .max(java.util.Comparator.comparingDouble((Row r) -> r.guarded().precision())
              .thenComparingDouble(r -> -r.threshold()))
          .orElseThrow());
      out.append(String.format(Locale.ROOT, "Default threshold: %.2f (the lowest with precision >= "
              + "%.2f with the guard): precision %.3f, recall %.3f (%d true hits, %d false hits, "
              + "%d missed); similarity alone at %.2f: precision %.3f, recall %.3f.%n",
          c.threshold(), TARGET_PRECISION, c.guarded().precision(), c.guarded().recall(),
          c.guarded().truePositives(), c.guarded().falsePositives(),
          c.guarded().falseNegatives(), c.threshold(), c.similarityOnly().precision(),
          c.similarityOnly().recall()));
      if (holdoutFile.isPresent()) {
        Row h = at(holdout, c.threshold());
        out.append(String.format(Locale.ROOT, "%nHeld-out pairs (%s, %d pairs, not used to tune the "
                + "guard or the threshold) at %.2f: with the guard precision %.3f, recall %.3f "
                + "(%d true hits, %d false hits, %d missed); similarity alone precision %.3f, "
                + "recall %.3f.%n", holdoutFile.get(), holdout.size(), c.threshold(),
            h.guarded().precision(), h.guarded().recall(), h.guarded().truePositives(),
            h.guarded().falsePositives(), h.guarded().falseNegatives(),
            h.similarityOnly().precision(), h.similarityOnly().recall()));
        SemanticMatch hm = new SemanticMatch(c.threshold());
        for (Scored s : holdout) {
          boolean hit = hm.judge(s.pair().a(), s.pair().b(), s.similarity()).isHit();
          if (hit && !s.pair().hit()) {
            out.append(String.format(Locale.ROOT, "- false hit, held out: %s %.3f: %s | %s%n",
                s.pair().kind(), s.similarity(), s.pair().a(), s.pair().b()));
          }
        }
      }
      out.append("\nAt the default, by kind (pairs, predicted hits similarity only -> with guard):\n\n");
      Map<String, int[]> byKind = new TreeMap<>();
      SemanticMatch match = new SemanticMatch(c.threshold());
      for (Scored s : scored) {
        int[] k = byKind.computeIfAbsent(s.pair().kind(), x -> new int[3]);
        k[0]++;
        k[1] += s.similarity() >= c.threshold() ? 1 : 0;
        k[2] += match.judge(s.pair().a(), s.pair().b(), s.similarity()).isHit() ? 1 : 0;
      }
      out.append("| kind | pairs | hits, similarity only | hits, with guard |\n|---|---|---|---|\n");
      byKind.forEach((kind, k) -> out.append(String.format(Locale.ROOT, "| %s | %d | %d | %d |%n",
          kind, k[0], k[1], k[2])));
      out.append("\nWrong decisions at the default (label, similarity, guard verdict, a | b):\n\n");
      for (Scored s : scored) {
        boolean hit = match.judge(s.pair().a(), s.pair().b(), s.similarity()).isHit();
        if (hit != s.pair().hit()) {
          out.append(String.format(Locale.ROOT, "- %s %s %.3f %s: %s | %s%n",
              s.pair().hit() ? "hit" : "miss", s.pair().kind(), s.similarity(), s.guard(),
              s.pair().a(), s.pair().b()));
        }
      }
    }
    System.out.print(out);
  }
}
