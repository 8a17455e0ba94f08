package io.modelway.gateway.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What a {@code model_not_found} says to do: the names closest to the one asked for among those
 * the caller may call, and, for a bare name while backends are configured, its
 * {@code BACKEND/MODEL} form. Never names a model the caller may not call. Pure and stateless.
 *
 * <p>Closeness is the optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), case-insensitive, within a third of the name's length (at least 1, at most 3).
 * No library on the classpath offers it (Commons Text is not a dependency; Lucene's is in
 * {@code lucene-suggest}), and it is 20 lines.
 */
final class ModelHints {
  /** The most names one hint offers. */
  static final int MAX_SUGGESTIONS = 3;

  private ModelHints() {}

  /**
   * The hint for {@code asked}, a sentence or two, or empty.
   *
   * @param callable the names the caller may call, as listed
   * @param backends the configured backends, each of which serves any model as BACKEND/MODEL
   * @param upstream the model lists known of the backends, by backend (may miss some)
   * @param allowed whether the caller may call a name (for names built here)
   */
  static String hint(String asked, List<String> callable, List<String> backends,
      Map<String, List<String>> upstream, Predicate<String> allowed) {
    Set<String> candidates = new LinkedHashSet<>(callable);
    upstream.forEach((backend, models) -> models.stream().map(m -> backend + "/" + m)
        .filter(allowed).forEach(candidates::add));
    int slash = asked.indexOf('/');
    if (slash > 0 && slash < asked.length() - 1 && !backends.contains(asked.substring(0, slash))) {
      // An unknown prefix: the same model on the backend whose name is closest.
      String prefix = asked.substring(0, slash);
      closest(prefix, backends).stream().map(b -> b + "/" + asked.substring(slash + 1))
          .filter(allowed).forEach(candidates::add);
    }
    List<String> close = closest(asked, candidates);
    StringBuilder hint = new StringBuilder();
    if (!close.isEmpty()) {
      hint.append("Did you mean ").append(quoted(close)).append('?');
    }
    if (slash < 0 && !backends.isEmpty()) {
      List<String> forms = new ArrayList<>();
      // The backends whose list has the name first, then the rest.
      backends.stream().filter(b -> upstream.getOrDefault(b, List.of()).contains(asked))
          .forEach(b -> forms.add(b + "/" + asked));
      backends.stream().map(b -> b + "/" + asked).filter(f -> !forms.contains(f))
          .forEach(forms::add);
      List<String> callableForms = forms.stream().filter(allowed)
          .filter(f -> !close.contains(f)).limit(MAX_SUGGESTIONS).toList();
      if (!callableForms.isEmpty()) {
        hint.append(hint.isEmpty() ? "" : " ")
            .append("A backend's models are called as BACKEND/MODEL: ")
            .append(quoted(callableForms)).append('.');
      }
    }
    return hint.toString();
  }

  /** The names within reach of {@code asked}, closest first (ties in their given order). */
  static List<String> closest(String asked, Iterable<String> names) {
    String a = asked.toLowerCase(Locale.ROOT);
    int reach = Math.max(1, Math.min(3, a.length() / 3));
    record Near(String name, int distance) {}
    List<Near> near = new ArrayList<>();
    for (String name : names) {
      int d = distance(a, name.toLowerCase(Locale.ROOT));
      if (d <= reach && !name.equals(asked)) {
        near.add(new Near(name, d));
      }
    }
    return near.stream().sorted(Comparator.comparingInt(Near::distance))
        .limit(MAX_SUGGESTIONS).map(Near::name).toList();
  }

  /** The optimal string alignment distance of {@code a} and {@code b}. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  private static String quoted(List<String> names) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < names.size(); i++) {
      out.append(i == 0 ? "" : i == names.size() - 1 ? " or " : ", ")
          .append('\'').append(names.get(i)).append('\'');
    }
    return out.toString();
  }
}
