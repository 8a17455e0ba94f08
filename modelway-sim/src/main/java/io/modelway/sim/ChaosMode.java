package io.modelway.sim;

import java.util.Locale;

/**
 * What a simulated server does to the requests it gets, for chaos tests. Its name on the wire
 * ({@code POST /sim/chaos}, {@code /sim/stats}) is the lower-case constant name.
 */
public enum ChaosMode {
  /** Answers as configured. */
  NORMAL,
  /**
   * The engine stalls: a sequence that has sent its first {@link SimOptions#hangTokens()} tokens
   * sends nothing more, in flight or new, and its connection stays open; embeddings get no answer.
   * Back to another mode, every stalled sequence resumes where it stopped.
   */
  HANG,
  /** Every new generation or embedding request gets a 500 in OpenAI's error shape; {@code /health} says 503. */
  FAIL,
  /**
   * The process dies at once, like {@code kill -9}: {@code modelway sim} halts the JVM; a server
   * started with {@link SimServer#start(SimOptions)} drops its connections and stops listening.
   * Final: nothing leaves it.
   */
  DIE;

  /** The mode named {@code name}, in any case. */
  public static ChaosMode parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "chaos mode: '" + name + "' (expected: normal, hang, fail or die)", e);
    }
  }

  /** The name on the wire. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
