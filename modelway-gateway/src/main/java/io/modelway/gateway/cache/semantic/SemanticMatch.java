package io.modelway.gateway.cache.semantic;

import static java.util.Objects.requireNonNull;

/**
 * Whether a question may be answered with the cached answer of a near one: their embeddings'
 * cosine similarity is at least {@link #threshold} <em>and</em> a lexical guard finds no
 * difference of the kinds embeddings blur. Sentence embeddings place "How many calories are in 2
 * eggs?" next to "How many calories are in 3 eggs?", and "Is it safe to …" next to "Is it not
 * safe to …"; the guard refuses such pairs whatever their similarity:
 *
 * <ul>
 *   <li>numbers: the sets of numbers differ (digits, with decimals and thousands separators, and
 *       English number words such as "twenty five" or "a dozen"; "one" alone is not a number,
 *       being mostly a pronoun);
 *   <li>negation: one question is negated and the other is not ("not", "no", "never",
 *       "without", "n't", "none", "non-", …);
 *   <li>entities: a name in one question that the other does not contain (either way, ignoring
 *       case): capitalised words not at the start of a sentence (and acronyms and mixed-case
 *       words like "iPhone" anywhere), quoted strings, code identifiers ({@code snake_case},
 *       {@code camelCase}, {@code dotted.names}, {@code call()}), words with digits ("IPv6");
 *   <li>units: the sets of units differ, after folding spellings (km, kilometre, kilometers) —
 *       length, mass, volume, temperature, time, data, speed, energy, currency, percent.
 * </ul>
 *
 * <p>The guard is English only and deliberately simple: a question in another language is judged
 * by the threshold alone, apart from digits, quotes and code identifiers. It costs O(length of
 * both questions). It does not catch every "close but different" pair (antonyms off its list,
 * a direction said without "from", "to" or a conversion verb); the threshold must.
 *
 * <p>Immutable and thread-safe.
 *
 * @param threshold the least cosine similarity of a hit, greater than 0 and at most 1
 */
public record SemanticMatch(double threshold) {
  /**
   * The threshold measured on {@code bench/semantic-cache/pairs.tsv} with all-MiniLM-L6-v2: the
   * lowest at which the guarded match has a precision of at least 0.98 (bench/README.md).
   */
  public static final double DEFAULT_THRESHOLD = 0.72;

  /** What was decided, and why a near question was refused. */
  public enum Verdict {
    HIT,
    BELOW_THRESHOLD,
    NUMBERS_DIFFER,
    NEGATION_DIFFERS,
    ENTITIES_DIFFER,
    UNITS_DIFFER,
    DIRECTION_DIFFERS,
    OPPOSITES;

    /** Whether the cached answer may be served. */
    public boolean isHit() {
      return this == HIT;
    }
  }

  public SemanticMatch {
    if (!(threshold > 0 && threshold <= 1)) {
      throw new IllegalArgumentException("threshold: " + threshold + " (expected: > 0 and <= 1)");
    }
  }

  /** A match at {@link #DEFAULT_THRESHOLD}. */
  public static SemanticMatch defaults() {
    return new SemanticMatch(DEFAULT_THRESHOLD);
  }

  /**
   * Whether {@code question} may take the answer cached for {@code cachedQuestion}, given the
   * cosine similarity of their embeddings.
   */
  public Verdict judge(String question, String cachedQuestion, double similarity) {
    requireNonNull(question, "question");
    requireNonNull(cachedQuestion, "cachedQuestion");
    if (!(similarity >= threshold)) {
      return Verdict.BELOW_THRESHOLD;
    }
    return guard(question, cachedQuestion);
  }

  /**
   * The lexical guard alone: {@link Verdict#HIT} when it finds no difference between {@code a}
   * and {@code b}, else the first difference found (numbers, negation, entities, units).
   * Symmetric.
   */
  public static Verdict guard(String a, String b) {
    requireNonNull(a, "a");
    requireNonNull(b, "b");
    Lexicon.Features x = Lexicon.features(a);
    Lexicon.Features y = Lexicon.features(b);
    if (!x.numbers().equals(y.numbers())) {
      return Verdict.NUMBERS_DIFFER;
    }
    if (x.negated() != y.negated()) {
      return Verdict.NEGATION_DIFFERS;
    }
    if (!Lexicon.containsAll(y, x.entities()) || !Lexicon.containsAll(x, y.entities())) {
      return Verdict.ENTITIES_DIFFER;
    }
    if (!x.units().equals(y.units())) {
      return Verdict.UNITS_DIFFER;
    }
    if (Lexicon.reversed(x, y)) {
      return Verdict.DIRECTION_DIFFERS;
    }
    if (Lexicon.opposed(x, y) || Lexicon.opposed(y, x)) {
      return Verdict.OPPOSITES;
    }
    return Verdict.HIT;
  }
}
