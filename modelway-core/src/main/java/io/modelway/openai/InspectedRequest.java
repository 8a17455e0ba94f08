package io.modelway.openai;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the gateway needs to know of a request body, read in one streaming pass without building a
 * tree: the model, whether to stream, the token limit. The body itself is forwarded as it came, so
 * fields the gateway does not know keep working.
 *
 * <p>The pass also rejects what is certainly wrong: a body that is not one JSON object, duplicate
 * keys, a missing required field, and a known field of the wrong type or range. Unknown fields are
 * not checked; the backend judges them.
 *
 * @param modelStart byte offset of the opening quote of the {@code model} value
 * @param modelEnd byte offset just past its closing quote
 * @param deterministic whether the answer depends on the request alone, not on sampling luck:
 *     an embedding, or a generation with {@code temperature} 0 or a {@code seed}
 */
public record InspectedRequest(
    Endpoint endpoint,
    String model,
    boolean stream,
    boolean includeUsage,
    @Nullable Integer maxTokens,
    int modelStart,
    int modelEnd,
    boolean deterministic) {

  private static final JsonFactory JSON = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();

  private static final JsonMapper TREES = JsonMapper.builder().build();

  /** Objects of the admin and registration APIs: no duplicate keys, numbers read exactly. */
  private static final JsonMapper STRICT_TREES = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();

  static {
    // Builds and caches the tree deserializer now: built on first use, under a lock that
    // concurrent first calls on event loops would wait on.
    TREES.readTree("{}");
    STRICT_TREES.readTree("{}");
  }

  /** The JSON type a known field must have; {@code null} is accepted for every optional one. */
  private enum Kind { STRING, BOOLEAN, INTEGER, NUMBER, OBJECT, ARRAY, STRING_OR_ARRAY, STRING_OR_OBJECT }

  private record Rule(Kind kind, double min, double max) {
    static Rule of(Kind kind) {
      return new Rule(kind, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }
  }

  private static final Map<String, Rule> GENERATION_RULES = Map.ofEntries(
      Map.entry("temperature", new Rule(Kind.NUMBER, 0, 2)),
      Map.entry("top_p", new Rule(Kind.NUMBER, 0, 1)),
      Map.entry("n", new Rule(Kind.INTEGER, 1, 128)),
      Map.entry("max_tokens", new Rule(Kind.INTEGER, 0, Integer.MAX_VALUE)),
      Map.entry("max_completion_tokens", new Rule(Kind.INTEGER, 0, Integer.MAX_VALUE)),
      Map.entry("presence_penalty", new Rule(Kind.NUMBER, -2, 2)),
      Map.entry("frequency_penalty", new Rule(Kind.NUMBER, -2, 2)),
      Map.entry("seed", Rule.of(Kind.INTEGER)),
      Map.entry("stop", Rule.of(Kind.STRING_OR_ARRAY)),
      Map.entry("stream", Rule.of(Kind.BOOLEAN)),
      Map.entry("stream_options", Rule.of(Kind.OBJECT)),
      Map.entry("user", Rule.of(Kind.STRING)),
      Map.entry("tools", Rule.of(Kind.ARRAY)),
      Map.entry("tool_choice", Rule.of(Kind.STRING_OR_OBJECT)),
      Map.entry("response_format", Rule.of(Kind.OBJECT)),
      Map.entry("logit_bias", Rule.of(Kind.OBJECT)),
      Map.entry("metadata", Rule.of(Kind.OBJECT)));

  private static final Map<String, Rule> EMBEDDING_RULES = Map.of(
      "dimensions", new Rule(Kind.INTEGER, 1, 65_536),
      "encoding_format", Rule.of(Kind.STRING),
      "user", Rule.of(Kind.STRING));

  public InspectedRequest {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(model, "model");
  }

  /**
   * This request as if it named {@code other}, such as an alias's target; the body's bytes (and
   * so the offsets of its {@code model} value) are unchanged.
   */
  public InspectedRequest naming(String other) {
    return new InspectedRequest(endpoint, requireNonNull(other, "other"), stream, includeUsage,
        maxTokens, modelStart, modelEnd, deterministic);
  }

  /**
   * Reads {@code body} as a request to {@code endpoint}.
   *
   * @throws OpenAiException 400 naming the field, when the body is malformed or invalid
   */
  public static InspectedRequest inspect(Endpoint endpoint, byte[] body) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(body, "body");
    try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body)) {
      return read(endpoint, p, body);
    } catch (JacksonException e) {
      throw OpenAiException.invalidRequest(notJson(e), null);
    }
  }

  /**
   * What is wrong with a body Jackson could not read, in words that name none of its classes or
   * settings (its own messages do: {@code `JsonToken.START_OBJECT`}, {@code
   * `DeserializationFeature.FAIL_ON_TRAILING_TOKENS`}, {@code StreamReadConstraints}).
   */
  public static String notJson(JacksonException e) {
    String prefix = "We could not parse the JSON body of your request: ";
    String message = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    if (message.startsWith("Trailing token")) {
      return prefix + "more follows the first JSON value; send exactly one JSON object.";
    }
    String words = message
        .replaceAll("\\s*\\(bound as `[^`]*`\\)", "")
        .replaceAll(":? *not allowed as per `[^`]*`", "")
        .replaceAll(", from `[^`]*`", "")
        .replace("`JsonToken.START_OBJECT`", "'{'").replace("`JsonToken.END_OBJECT`", "'}'")
        .replace("`JsonToken.START_ARRAY`", "'['").replace("`JsonToken.END_ARRAY`", "']'")
        .lines().findFirst().orElse("").strip();
    if (words.isEmpty() || words.contains("`") || words.contains("jackson")
        || words.contains("Feature") || words.contains("Constraints") || words.contains("JsonToken")) {
      words = "it is not valid JSON";
    }
    var where = e.getLocation();
    String at = where == null || where.getLineNr() < 1 ? ""
        : " (at line " + where.getLineNr() + ", column " + where.getColumnNr() + ")";
    return prefix + words + at + (words.endsWith(".") && at.isEmpty() ? "" : ".");
  }

  /**
   * {@code body} as a JSON tree, for runtimes that read more than the gateway does.
   *
   * @throws OpenAiException 400 when it is not JSON
   */
  public static JsonNode tree(byte[] body) {
    return parseTree(body);
  }

  /**
   * {@code body} as one JSON object, for the admin and registration APIs' small bodies. Like a
   * request's body, it must not repeat a key; its numbers are read as {@link java.math.BigDecimal}
   * (so {@code 1e400} is a number out of range, not infinity).
   *
   * @throws OpenAiException 400 when it is not JSON, not an object, or repeats a key
   */
  public static JsonNode object(byte[] body) {
    JsonNode tree;
    try {
      tree = STRICT_TREES.readTree(body);
    } catch (JacksonException e) {
      throw OpenAiException.invalidRequest(notJson(e), null);
    }
    if (tree == null || !tree.isObject()) {
      throw OpenAiException.invalidRequest("The request body must be a JSON object.", null);
    }
    return tree;
  }

  private static JsonNode parseTree(byte[] body) {
    try {
      return TREES.readTree(body);
    } catch (JacksonException e) {
      throw OpenAiException.invalidRequest(notJson(e), null);
    }
  }

  private static InspectedRequest read(Endpoint endpoint, JsonParser p, byte[] body) {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      throw OpenAiException.invalidRequest(
          "The request body must be a JSON object.", null);
    }
    Map<String, Rule> rules = endpoint == Endpoint.EMBEDDINGS ? EMBEDDING_RULES : GENERATION_RULES;
    String model = null;
    int modelStart = -1;
    boolean stream = false;
    boolean includeUsage = false;
    Integer maxTokens = null;
    boolean zeroTemperature = false;
    boolean seeded = false;
    boolean sawRequired = false;
    String required = switch (endpoint) {
      case CHAT_COMPLETIONS -> "messages";
      case COMPLETIONS -> "prompt";
      case EMBEDDINGS -> "input";
    };

    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("model")) {
        if (value != JsonToken.VALUE_STRING || p.getString().isBlank()) {
          throw OpenAiException.invalidRequest("'model' must be a non-empty string.", "model");
        }
        model = p.getString();
        modelStart = (int) p.currentTokenLocation().getByteOffset();
        continue;
      }
      if (field.equals(required)) {
        sawRequired = true;
        checkRequired(endpoint, field, value, p);
        continue;
      }
      Rule rule = rules.get(field);
      if (rule == null) {
        p.skipChildren();
        continue;
      }
      check(field, rule, value, p);
      switch (field) {
        case "stream" -> stream = value == JsonToken.VALUE_TRUE;
        case "max_tokens", "max_completion_tokens" -> {
          if (value == JsonToken.VALUE_NUMBER_INT) {
            maxTokens = p.getIntValue();
          }
        }
        case "stream_options" -> includeUsage = readIncludeUsage(value, p);
        case "temperature" -> zeroTemperature = value.isNumeric() && p.getDoubleValue() == 0;
        case "seed" -> seeded = value != JsonToken.VALUE_NULL;
        default -> p.skipChildren();
      }
    }
    if (p.nextToken() != null) {
      throw OpenAiException.invalidRequest(
          "The request body must hold exactly one JSON object.", null);
    }
    if (model == null) {
      throw OpenAiException.invalidRequest(
          "You must provide a model parameter.", "model");
    }
    if (!sawRequired) {
      throw OpenAiException.invalidRequest(
          "Missing required parameter: '" + required + "'.", required);
    }
    if (!endpoint.canStream()) {
      stream = false;
    }
    return new InspectedRequest(
        endpoint, model, stream, stream && includeUsage, maxTokens, modelStart,
        closingQuote(body, modelStart) + 1,
        endpoint == Endpoint.EMBEDDINGS || zeroTemperature || seeded);
  }

  private static void checkRequired(Endpoint endpoint, String field, JsonToken value, JsonParser p) {
    switch (endpoint) {
      case CHAT_COMPLETIONS -> checkMessages(value, p);
      case COMPLETIONS, EMBEDDINGS -> {
        boolean ok = value == JsonToken.VALUE_STRING || value == JsonToken.START_ARRAY;
        if (!ok) {
          throw OpenAiException.invalidRequest(
              "'" + field + "' must be a string or an array.", field);
        }
        p.skipChildren();
      }
    }
  }

  private static void checkMessages(JsonToken value, JsonParser p) {
    if (value != JsonToken.START_ARRAY) {
      throw OpenAiException.invalidRequest("'messages' must be an array.", "messages");
    }
    int index = 0;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken(), index++) {
      String param = "messages[" + index + "]";
      if (t != JsonToken.START_OBJECT) {
        throw OpenAiException.invalidRequest("'" + param + "' must be an object.", param);
      }
      boolean sawRole = false;
      while (p.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (name.equals("role")) {
          if (v != JsonToken.VALUE_STRING || p.getString().isEmpty()) {
            throw OpenAiException.invalidRequest(
                "'" + param + ".role' must be a non-empty string.", param + ".role");
          }
          sawRole = true;
        } else {
          p.skipChildren();
        }
      }
      if (!sawRole) {
        throw OpenAiException.invalidRequest(
            "Missing required parameter: '" + param + ".role'.", param + ".role");
      }
    }
    if (index == 0) {
      throw OpenAiException.invalidRequest(
          "'messages' must hold at least one message.", "messages");
    }
  }

  private static void check(String field, Rule rule, JsonToken value, JsonParser p) {
    if (value == JsonToken.VALUE_NULL) {
      return;
    }
    boolean ok = switch (rule.kind()) {
      case STRING -> value == JsonToken.VALUE_STRING;
      case BOOLEAN -> value == JsonToken.VALUE_TRUE || value == JsonToken.VALUE_FALSE;
      case INTEGER -> value == JsonToken.VALUE_NUMBER_INT;
      case NUMBER -> value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT;
      case OBJECT -> value == JsonToken.START_OBJECT;
      case ARRAY -> value == JsonToken.START_ARRAY;
      case STRING_OR_ARRAY -> value == JsonToken.VALUE_STRING || value == JsonToken.START_ARRAY;
      case STRING_OR_OBJECT -> value == JsonToken.VALUE_STRING || value == JsonToken.START_OBJECT;
    };
    if (!ok) {
      throw OpenAiException.invalidRequest(
          "Invalid type for '" + field + "': expected " + describe(rule.kind()) + ".", field);
    }
    if (value.isNumeric()) {
      double v = p.getDoubleValue();
      if (rule.kind() == Kind.INTEGER && !fitsInt(p)) {
        throw OpenAiException.invalidRequest(
            "Invalid '" + field + "': " + p.getText() + " is out of range.", field);
      }
      if (v < rule.min() || v > rule.max()) {
        throw OpenAiException.invalidRequest(
            "Invalid '" + field + "': " + p.getText() + " (expected: " + range(rule) + ").", field);
      }
    }
  }

  private static boolean fitsInt(JsonParser p) {
    return p.getNumberType() == JsonParser.NumberType.INT;
  }

  private static String range(Rule rule) {
    if (rule.max() == Double.POSITIVE_INFINITY || rule.max() >= Integer.MAX_VALUE) {
      return ">= " + fmt(rule.min());
    }
    return fmt(rule.min()) + " to " + fmt(rule.max());
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private static String describe(Kind kind) {
    return switch (kind) {
      case STRING -> "a string";
      case BOOLEAN -> "a boolean";
      case INTEGER -> "an integer";
      case NUMBER -> "a number";
      case OBJECT -> "an object";
      case ARRAY -> "an array";
      case STRING_OR_ARRAY -> "a string or an array";
      case STRING_OR_OBJECT -> "a string or an object";
    };
  }

  private static boolean readIncludeUsage(JsonToken value, JsonParser p) {
    if (value != JsonToken.START_OBJECT) {
      return false;
    }
    boolean include = false;
    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("include_usage")) {
        if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE && v != JsonToken.VALUE_NULL) {
          throw OpenAiException.invalidRequest(
              "Invalid type for 'stream_options.include_usage': expected a boolean.",
              "stream_options.include_usage");
        }
        include = v == JsonToken.VALUE_TRUE;
      } else {
        p.skipChildren();
      }
    }
    return include;
  }

  private static int closingQuote(byte[] body, int openingQuote) {
    for (int i = openingQuote + 1; i < body.length; i++) {
      if (body[i] == '\\') {
        i++;
      } else if (body[i] == '"') {
        return i;
      }
    }
    throw new IllegalStateException("unterminated model string at " + openingQuote);
  }

  /**
   * {@code body} with the model value replaced by {@code newModel}; every other byte unchanged.
   * Returns {@code body} itself when the model stays the same.
   */
  public byte[] withModel(byte[] body, String newModel) {
    if (newModel.equals(model)) {
      return body;
    }
    byte[] quoted = quote(newModel);
    byte[] out = new byte[body.length - (modelEnd - modelStart) + quoted.length];
    System.arraycopy(body, 0, out, 0, modelStart);
    System.arraycopy(quoted, 0, out, modelStart, quoted.length);
    System.arraycopy(body, modelEnd, out, modelStart + quoted.length, body.length - modelEnd);
    return out;
  }

  private static byte[] quote(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length() + 2);
    try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
      g.writeString(s);
    }
    return out.toByteArray();
  }
}
