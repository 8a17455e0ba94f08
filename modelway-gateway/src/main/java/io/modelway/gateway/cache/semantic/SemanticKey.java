package io.modelway.gateway.cache.semantic;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What of a request the semantic cache compares by meaning, and what it compares exactly.
 *
 * <p>{@link #text} is the question: for {@code /v1/chat/completions} the text of the last
 * message, which must be the user's (its string content, or its text parts joined by a newline);
 * for {@code /v1/completions} the prompt (a string, or an array holding one string). {@link
 * #contextHash} covers everything else that changes the answer, so that two requests are
 * near-duplicates only when their hashes are equal and their texts are close: the system and
 * developer prompts and every earlier turn (tool calls and results included), the last message's
 * other fields (such as {@code name}), and every request parameter ({@code temperature},
 * {@code top_p}, {@code seed}, {@code max_tokens}, {@code stop}, {@code n}, {@code tools},
 * {@code tool_choice}, {@code response_format}, {@code logprobs}, …), unknown ones included, so a
 * parameter OpenAI adds later splits the cache rather than being ignored. Only the fields in
 * {@link #IGNORED_FIELDS} are left out: they change how or to whom the answer is delivered, not
 * the answer. {@code model} is among them because the caller partitions by the <em>resolved</em>
 * model (an alias and its target must share entries); {@code n} is not, as it changes how many
 * choices the answer holds.
 *
 * <p>The hash is over a canonical form: object members sorted by name, members whose value is
 * {@code null} dropped (OpenAI treats them as absent), numbers compared by value ({@code 1} and
 * {@code 1.0} are equal), whitespace outside strings ignored. Chat and completion requests never
 * share a hash.
 *
 * <p>Not semantically cacheable (empty): a body that is not a JSON object, a chat whose last
 * message is not the user's, any message part that is not text (images, audio, files), a
 * completion whose prompt is several strings or tokens, an embeddings request, a blank question.
 *
 * @param text the question to embed, trimmed, never blank
 * @param contextHash lowercase hexadecimal SHA-256 (64 characters) of the canonical context
 */
public record SemanticKey(String text, String contextHash) {
  /**
   * Top-level request fields left out of the context hash: they do not change the answer's
   * content.
   */
  public static final Set<String> IGNORED_FIELDS = Set.of(
      "model", "stream", "stream_options", "user", "metadata", "store", "service_tier",
      "safety_identifier", "prompt_cache_key");

  /** Message part types that carry text; any other part makes a request not cacheable. */
  private static final Set<String> TEXT_PARTS = Set.of("text", "refusal");

  /** Numbers read exactly: {@code 1e400} is a number, not infinity. */
  private static final JsonMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

  static {
    // Builds the tree deserializer now rather than under a lock on the first event-loop call.
    JSON.readTree("{}");
  }

  public SemanticKey {
    requireNonNull(text, "text");
    requireNonNull(contextHash, "contextHash");
    if (text.isBlank()) {
      throw new IllegalArgumentException("text is blank (expected: a question)");
    }
  }

  /**
   * The key of {@code body}, a request to {@code endpoint}, or empty when the request is not
   * semantically cacheable. Never throws on a malformed body (it is empty then); O(body size).
   * Thread-safe.
   */
  public static Optional<SemanticKey> of(Endpoint endpoint, byte[] body) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(body, "body");
    JsonNode request;
    try {
      request = JSON.readTree(body);
    } catch (JacksonException e) {
      return Optional.empty();
    }
    if (request == null || !request.isObject()) {
      return Optional.empty();
    }
    return switch (endpoint) {
      case CHAT_COMPLETIONS -> chat(request);
      case COMPLETIONS -> completion(request);
      case EMBEDDINGS -> Optional.empty();
    };
  }

  private static Optional<SemanticKey> chat(JsonNode request) {
    JsonNode messages = request.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      return Optional.empty();
    }
    for (JsonNode message : messages.values()) {
      if (!message.isObject() || !textOnly(message.get("content"))) {
        return Optional.empty();
      }
    }
    JsonNode last = messages.get(messages.size() - 1);
    JsonNode role = last.get("role");
    if (role == null || !role.isString() || !role.stringValue().equals("user")) {
      return Optional.empty();
    }
    Optional<String> text = text(last.get("content"));
    if (text.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder context = new StringBuilder("chat\n");
    canonical(parameters(request, "messages"), context);
    context.append('\n');
    for (int i = 0; i < messages.size() - 1; i++) {
      canonical(messages.get(i), context);
      context.append('\n');
    }
    Map<String, JsonNode> lastFields = new TreeMap<>();
    for (Map.Entry<String, JsonNode> field : last.properties()) {
      if (!field.getKey().equals("content")) {
        lastFields.put(field.getKey(), field.getValue());
      }
    }
    canonical(lastFields, context);
    return Optional.of(new SemanticKey(text.get(), sha256(context)));
  }

  private static Optional<SemanticKey> completion(JsonNode request) {
    JsonNode prompt = request.get("prompt");
    if (prompt != null && prompt.isArray() && prompt.size() == 1) {
      prompt = prompt.get(0);
    }
    if (prompt == null || !prompt.isString() || prompt.stringValue().isBlank()) {
      return Optional.empty();
    }
    StringBuilder context = new StringBuilder("completion\n");
    canonical(parameters(request, "prompt"), context);
    return Optional.of(new SemanticKey(prompt.stringValue().trim(), sha256(context)));
  }

  /** The request's members but {@code question} and the ignored ones, sorted by name. */
  private static Map<String, JsonNode> parameters(JsonNode request, String question) {
    Map<String, JsonNode> parameters = new TreeMap<>();
    for (Map.Entry<String, JsonNode> field : request.properties()) {
      String name = field.getKey();
      if (!name.equals(question) && !IGNORED_FIELDS.contains(name)) {
        parameters.put(name, field.getValue());
      }
    }
    return parameters;
  }

  /** Whether a message's content is absent, a string, or an array of text parts only. */
  private static boolean textOnly(JsonNode content) {
    if (content == null || content.isNull() || content.isString()) {
      return true;
    }
    if (!content.isArray()) {
      return false;
    }
    for (JsonNode part : content.values()) {
      JsonNode type = part.get("type");
      if (!part.isObject() || type == null || !type.isString()
          || !TEXT_PARTS.contains(type.stringValue())) {
        return false;
      }
    }
    return true;
  }

  /** The user's text: a string, or the {@code text} parts joined by newlines; empty if blank. */
  private static Optional<String> text(JsonNode content) {
    String text;
    if (content != null && content.isString()) {
      text = content.stringValue();
    } else if (content != null && content.isArray()) {
      List<String> parts = new ArrayList<>(content.size());
      for (JsonNode part : content.values()) {
        JsonNode value = part.get("text");
        if (!part.path("type").stringValue("").equals("text") || value == null
            || !value.isString()) {
          return Optional.empty();
        }
        parts.add(value.stringValue());
      }
      text = String.join("\n", parts);
    } else {
      return Optional.empty();
    }
    text = text.trim();
    return text.isEmpty() ? Optional.empty() : Optional.of(text);
  }

  private static void canonical(Map<String, JsonNode> fields, StringBuilder out) {
    out.append('{');
    boolean first = true;
    for (Map.Entry<String, JsonNode> field : fields.entrySet()) {
      if (field.getValue().isNull()) {
        continue;
      }
      if (!first) {
        out.append(',');
      }
      first = false;
      string(field.getKey(), out);
      out.append(':');
      canonical(field.getValue(), out);
    }
    out.append('}');
  }

  private static void canonical(JsonNode node, StringBuilder out) {
    if (node.isObject()) {
      Map<String, JsonNode> sorted = new TreeMap<>();
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        sorted.put(field.getKey(), field.getValue());
      }
      canonical(sorted, out);
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        canonical(node.get(i), out);
      }
      out.append(']');
    } else if (node.isString()) {
      string(node.stringValue(), out);
    } else if (node.isNumber()) {
      BigDecimal value = node.decimalValue().stripTrailingZeros();
      // Plain unless that would be many digits (1e999999999): the same text for equal values.
      out.append(value.signum() == 0 ? "0"
          : Math.abs(value.scale()) > 100 ? value.toString() : value.toPlainString());
    } else {
      out.append(node); // true, false, null
    }
  }

  /** A JSON-style quoted string: unambiguous, so that no two structures write the same text. */
  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\');
      }
      out.append(c);
    }
    out.append('"');
  }

  private static String sha256(CharSequence canonical) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(
          digest.digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
