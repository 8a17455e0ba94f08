package io.modelway.gateway.cache.semantic;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The English word lists and the tokenizer behind {@link SemanticMatch#guard}. */
final class Lexicon {
  private Lexicon() {}

  /**
   * What the guard compares of one question.
   *
   * @param numbers normalized numbers ("2", "0.5", "1200")
   * @param negated whether a negation occurs
   * @param entities lowercased names, quoted strings and identifiers
   * @param units canonical unit names
   * @param lowered the question lowercased, with spaces around every token, for containment
   */
  record Features(Set<String> numbers, boolean negated, Set<String> entities, Set<String> units,
      String lowered, Set<String> words, Set<String> sources, Set<String> targets) {}

  /** Whether one question names as a source what the other names only as a target. */
  static boolean reversed(Features a, Features b) {
    return crosses(a.sources(), b.targets(), b.sources()) || crosses(b.sources(), a.targets(), a.sources());
  }

  private static boolean crosses(Set<String> sources, Set<String> otherTargets,
      Set<String> otherSources) {
    for (String w : sources) {
      if (otherTargets.contains(w) && !otherSources.contains(w)) {
        return true;
      }
    }
    return false;
  }

  /** Whether one question holds a word whose opposite the other holds, and not the word itself. */
  static boolean opposed(Features a, Features b) {
    for (String w : a.words()) {
      String opposite = ANTONYMS.get(w);
      if (opposite != null && b.words().contains(opposite) && !b.words().contains(w)
          && !a.words().contains(opposite)) {
        return true;
      }
      for (String prefix : NEGATING_PREFIXES) {
        if (w.length() > 3 && b.words().contains(prefix + w) && !b.words().contains(w)
            && !a.words().contains(prefix + w)) {
          return true;
        }
      }
    }
    return false;
  }

  private static final List<String> NEGATING_PREFIXES = List.of("un", "dis", "de", "in", "im");

  /** Opposites, both ways; words with a negating prefix ("unmount") are found without a list. */
  private static final Map<String, String> ANTONYMS = new HashMap<>();

  private static void opposites(String... pairs) {
    for (int i = 0; i < pairs.length; i += 2) {
      ANTONYMS.put(pairs[i], pairs[i + 1]);
      ANTONYMS.put(pairs[i + 1], pairs[i]);
    }
  }

  static {
    opposites("increase", "decrease", "raise", "lower", "gain", "lose", "win", "lose",
        "enable", "disable", "encrypt", "decrypt", "encode", "decode", "compress", "decompress",
        "zip", "unzip", "show", "hide", "open", "close", "start", "stop", "begin", "end",
        "first", "last", "add", "remove", "insert", "delete", "buy", "sell", "import", "export",
        "upload", "download", "upgrade", "downgrade", "push", "pull", "in", "out", "up", "down",
        "on", "off", "left", "right", "above", "below", "before", "after", "more", "less",
        "most", "least", "max", "min", "maximum", "minimum", "high", "low", "higher", "lower",
        "highest", "lowest", "hot", "cold", "hotter", "colder", "hottest", "coldest", "warm",
        "cool", "warmer", "cooler", "fast", "slow", "faster", "slower", "fastest", "slowest",
        "strong", "weak", "stronger", "weaker", "big", "small", "bigger", "smaller", "biggest",
        "smallest", "large", "small", "larger", "largest", "long", "short", "longer", "shorter",
        "longest", "shortest", "best", "worst", "better", "worse", "good", "bad", "pros", "cons",
        "advantages", "disadvantages", "benefits", "drawbacks", "positive", "negative", "true",
        "false", "cheap", "expensive", "easy", "hard", "easiest",
        "hardest", "safe", "dangerous", "healthy", "unhealthy", "legal", "illegal", "inside",
        "outside", "north", "south", "east", "west", "import", "export", "input", "output",
        "charge", "drain", "accept", "reject", "allow", "deny", "include", "exclude", "lock",
        "unlock", "attach", "detach", "connect", "disconnect", "mount", "unmount", "subscribe",
        "unsubscribe", "follow", "unfollow", "install", "uninstall", "encrypt", "decrypt",
        "young", "old", "younger", "older", "rich", "poor", "wet", "dry", "light", "dark",
        "heavy", "light", "thick", "thin", "tall", "short", "early", "late", "earlier", "later",
        "rise", "fall", "ascending", "descending", "asc", "desc", "sync", "async",
        "synchronous", "asynchronous", "client", "server", "sender", "receiver", "male", "female");
  }

  /** Whether every entity occurs in {@code other} as whole words, ignoring case. */
  static boolean containsAll(Features other, Set<String> entities) {
    for (String entity : entities) {
      if (!other.lowered().contains(" " + entity + " ")) {
        return false;
      }
    }
    return true;
  }

  // Tokens: a number, a word (letters, digits, _, inner ' . - and a trailing ()), a symbol,
  // a sentence end. The order of the alternatives matters.
  private static final Pattern TOKEN = Pattern.compile(
      "(?<num>\\d+(?:[.,]\\d+)*)"
          + "|(?<word>[\\p{L}_][\\p{L}\\p{N}_]*(?:['.\\-+#][\\p{L}\\p{N}_+#]+)*\\+*#?(?:\\(\\))?)"
          + "|(?<deg>°\\s?[CFcf]\\b)"
          + "|(?<sym>[$€£¥%])"
          + "|(?<end>[.!?:;\\n]+(?=\\s|$))");
  private static final Pattern QUOTED = Pattern.compile(
      "\"([^\"]{1,80})\"|“([^”]{1,80})”|`([^`]{1,80})`|(?<![\\p{L}\\p{N}])'([^']{1,80})'(?![\\p{L}\\p{N}])");
  private static final Pattern THOUSANDS = Pattern.compile("\\d{1,3}(,\\d{3})+(\\.\\d+)?");

  private static final Set<String> NEGATIONS = Set.of("not", "no", "never", "none", "nothing",
      "nobody", "nowhere", "neither", "nor", "without", "cannot");

  /** Verbs after which "X to Y" makes X a source. */
  private static final Set<String> CONVERSIONS = Set.of("convert", "converting", "translate",
      "change", "turn", "cast", "migrate", "switch", "move", "transfer", "copy", "map", "port",
      "export", "upgrade", "downgrade", "compile", "transpile", "rewrite", "send");

  /** Words skipped when looking for the word after "from" or "to". */
  private static final Set<String> DETERMINERS = Set.of("a", "an", "the", "my", "your", "our",
      "their", "his", "her", "its", "this", "that", "these", "those", "some", "another");

  private static final Set<String> NOT_ENTITIES = Set.of("i", "i'm", "i've", "i'd", "i'll");

  private static final Map<String, Long> NUMBER_WORDS = new HashMap<>();
  private static final Map<String, Long> SCALES = Map.of(
      "hundred", 100L, "thousand", 1_000L, "million", 1_000_000L, "billion", 1_000_000_000L);

  static {
    String[] small = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
        "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
        "seventeen", "eighteen", "nineteen"};
    for (int i = 0; i < small.length; i++) {
      NUMBER_WORDS.put(small[i], (long) i);
    }
    String[] tens = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
        "ninety"};
    for (int i = 0; i < tens.length; i++) {
      NUMBER_WORDS.put(tens[i], 20L + 10L * i);
    }
    NUMBER_WORDS.put("dozen", 12L);
  }

  private static final Map<String, String> UNITS = new HashMap<>();

  private static void units(String canonical, String... spellings) {
    UNITS.put(canonical, canonical);
    for (String s : spellings) {
      UNITS.put(s, canonical);
    }
  }

  static {
    units("mm", "millimeter", "millimeters", "millimetre", "millimetres");
    units("cm", "centimeter", "centimeters", "centimetre", "centimetres");
    units("m", "meter", "meters", "metre", "metres");
    units("km", "kilometer", "kilometers", "kilometre", "kilometres", "kms");
    units("mile", "miles", "mi");
    units("ft", "foot", "feet");
    units("inch", "inches");
    units("yard", "yards", "yd");
    units("mg", "milligram", "milligrams");
    units("g", "gram", "grams");
    units("kg", "kilogram", "kilograms", "kilo", "kilos", "kgs");
    units("lb", "lbs", "pound", "pounds");
    units("oz", "ounce", "ounces");
    units("ton", "tons", "tonne", "tonnes");
    units("ml", "milliliter", "milliliters", "millilitre", "millilitres");
    units("l", "liter", "liters", "litre", "litres");
    units("gallon", "gallons", "gal");
    units("cup", "cups");
    units("tbsp", "tablespoon", "tablespoons");
    units("tsp", "teaspoon", "teaspoons");
    units("pint", "pints");
    units("celsius", "centigrade", "°c");
    units("fahrenheit", "°f");
    units("kelvin");
    units("degree", "degrees", "°");
    units("ms", "millisecond", "milliseconds");
    units("second", "seconds", "sec", "secs", "s");
    units("minute", "minutes", "min", "mins");
    units("hour", "hours", "hr", "hrs", "h");
    units("day", "days");
    units("week", "weeks");
    units("month", "months");
    units("year", "years", "yr", "yrs");
    units("bit", "bits");
    units("byte", "bytes");
    units("kb", "kilobyte", "kilobytes", "kib");
    units("mb", "megabyte", "megabytes", "mib");
    units("gb", "gigabyte", "gigabytes", "gib");
    units("tb", "terabyte", "terabytes", "tib");
    units("mbps");
    units("gbps");
    units("mph");
    units("kph", "km/h");
    units("watt", "watts", "w");
    units("kw", "kilowatt", "kilowatts");
    units("kwh");
    units("calorie", "calories", "kcal", "cal");
    units("joule", "joules");
    units("volt", "volts", "v");
    units("amp", "amps", "ampere", "amperes");
    units("usd", "$", "dollar", "dollars");
    units("eur", "€", "euro", "euros");
    units("gbp", "£", "sterling");
    units("yen", "¥", "jpy");
    units("percent", "%", "per cent");
  }

  static Features features(String question) {
    String text = question.replace('’', '\'').replace('‘', '\'');
    Set<String> numbers = new HashSet<>();
    Set<String> entities = new HashSet<>();
    Set<String> units = new HashSet<>();
    boolean negated = false;
    StringBuilder lowered = new StringBuilder(" ");

    Matcher quoted = QUOTED.matcher(text);
    while (quoted.find()) {
      for (int g = 1; g <= quoted.groupCount(); g++) {
        if (quoted.group(g) != null) {
          entities.add(normalize(quoted.group(g)));
        }
      }
    }

    Matcher m = TOKEN.matcher(text);
    boolean sentenceStart = true;
    Set<String> words = new HashSet<>();
    Set<String> sources = new HashSet<>();
    Set<String> targets = new HashSet<>();
    boolean converting = false;
    String previous = null; // the last content word
    String marker = null; // "from" or "to" until the next content word
    String beforeMarker = null;
    List<String> numberWords = new ArrayList<>();
    while (m.find()) {
      String word = m.group("word");
      String lower = m.group().toLowerCase(Locale.ROOT);
      if (m.group("end") != null) {
        sentenceStart = true;
        converting = false;
        marker = null;
        previous = null;
        flush(numberWords, numbers);
        continue;
      }
      String plain = stripPossessive(lower);
      words.add(plain);
      if (word != null) {
        if (CONVERSIONS.contains(plain)) {
          converting = true;
        }
        if (plain.equals("from")) {
          marker = "from";
        } else if (plain.equals("to") || plain.equals("into")) {
          marker = "to";
          if (converting && previous != null) {
            sources.add(previous);
          }
        } else if (!DETERMINERS.contains(plain)) {
          if ("from".equals(marker)) {
            sources.add(plain);
          } else if ("to".equals(marker)) {
            targets.add(plain);
          }
          marker = null;
          previous = plain;
        }
      }
      lowered.append(lower).append(' ');
      if (word != null && (NUMBER_WORDS.containsKey(lower) || SCALES.containsKey(lower)
          || (lower.equals("a") && !numberWords.isEmpty()))) {
        numberWords.add(lower);
        sentenceStart = false;
        continue;
      }
      flush(numberWords, numbers);
      if (m.group("num") != null) {
        numbers.add(number(m.group("num")));
      } else if (m.group("deg") != null) {
        units.add(UNITS.get(lower.replace(" ", "")));
      } else if (m.group("sym") != null) {
        units.add(UNITS.get(lower));
      } else {
        if (NEGATIONS.contains(lower) || lower.endsWith("n't") || lower.startsWith("non-")) {
          negated = true;
        }
        String unit = UNITS.get(lower);
        if (unit != null) {
          units.add(unit);
        } else if (isEntity(word, sentenceStart) && !NOT_ENTITIES.contains(lower)) {
          entities.add(stripPossessive(lower));
        }
        if (!stripPossessive(lower).equals(lower)) {
          lowered.append(stripPossessive(lower)).append(' ');
        }
      }
      sentenceStart = false;
    }
    flush(numberWords, numbers);
    return new Features(Set.copyOf(numbers), negated, Set.copyOf(entities), Set.copyOf(units),
        lowered.toString(), Set.copyOf(words), Set.copyOf(sources), Set.copyOf(targets));
  }

  private static boolean isEntity(String word, boolean sentenceStart) {
    boolean capitalised = Character.isUpperCase(word.codePointAt(0));
    boolean innerCapital = false;
    boolean digit = false;
    for (int i = 1; i < word.length(); i++) {
      char c = word.charAt(i);
      innerCapital |= Character.isUpperCase(c);
      digit |= Character.isDigit(c);
    }
    boolean code = word.contains("_") || word.endsWith("()")
        || (word.indexOf('.') > 0 && !word.endsWith("."));
    return (capitalised && !sentenceStart) || innerCapital || digit || code;
  }

  /** "python's" as "python". */
  private static String stripPossessive(String lower) {
    return lower.endsWith("'s") ? lower.substring(0, lower.length() - 2) : lower;
  }

  /** Words and numbers of a quoted string, lowercased and spaced as {@code lowered} holds them. */
  private static String normalize(String quoted) {
    StringBuilder out = new StringBuilder();
    Matcher m = TOKEN.matcher(quoted.replace('’', '\''));
    while (m.find()) {
      if (m.group("end") == null) {
        out.append(out.length() == 0 ? "" : " ").append(m.group().toLowerCase(Locale.ROOT));
      }
    }
    return out.toString();
  }

  /** A run of number words as one number: "two hundred fifty" is 250, "a dozen" 12. */
  private static void flush(List<String> words, Set<String> numbers) {
    if (words.isEmpty()) {
      return;
    }
    boolean meaningful = words.size() > 1 || !words.get(0).equals("one");
    if (words.size() == 1 && SCALES.containsKey(words.get(0))) {
      meaningful = true; // "hundreds of" is vague, but a scale all the same
    }
    if (meaningful) {
      long total = 0;
      long current = 0;
      for (String w : words) {
        Long scale = SCALES.get(w);
        if (w.equals("a")) {
          continue;
        } else if (scale == null) {
          long value = NUMBER_WORDS.get(w);
          current = w.equals("dozen") ? Math.max(current, 1) * 12 : current + value;
        } else if (scale == 100) {
          current = Math.max(current, 1) * 100;
        } else {
          total += Math.max(current, 1) * scale;
          current = 0;
        }
      }
      numbers.add(Long.toString(total + current));
    }
    words.clear();
  }

  private static String number(String digits) {
    String plain = THOUSANDS.matcher(digits).matches() ? digits.replace(",", "") : digits;
    try {
      BigDecimal value = new BigDecimal(plain.replace(',', '.'));
      return value.signum() == 0 ? "0" : value.stripTrailingZeros().toPlainString();
    } catch (NumberFormatException e) {
      return plain; // such as 1.2.3, a version
    }
  }
}
