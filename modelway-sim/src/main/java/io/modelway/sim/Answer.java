package io.modelway.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The text a simulated model "generates": words drawn from a fixed vocabulary by a random source
 * seeded from the server's seed and the request, so the same request always gets the same answer.
 */
final class Answer {
  private static final String[] WORDS = (
      "the of and to in is that for it as was with be by on not he this are or his from at which"
          + " but have an had they you were their one all we can her has there been if more when"
          + " will would who so no model token stream answer gateway worker cache route fast light"
          + " river stone cloud green quiet bright north garden signal")
      .split(" ");

  private Answer() {}

  /** {@code count} tokens, the first without a leading space, the rest with one. */
  static List<String> tokens(long seed, int count) {
    SplittableRandom random = new SplittableRandom(seed);
    List<String> tokens = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String word = WORDS[random.nextInt(WORDS.length)];
      tokens.add(i == 0 ? word : " " + word);
    }
    return tokens;
  }

  /** A rough token count of text, about four characters a token, at least one. */
  static int countTokens(String text) {
    return Math.max(1, (text.length() + 3) / 4);
  }

  /** A 64-bit mix (SplitMix64's finalizer) so that nearby seeds give unrelated streams. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
