package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What every admin API of the store does with a call: read its JSON body strictly, run the
 * blocking store work off the event loops, and answer with JSON — a {@link ApiKeys.Refused}
 * becoming a 404 when something named does not exist ("no …") and a 409 otherwise.
 *
 * <p>A body is refused with a 400 naming the field, as {@code /v1} refuses one, when it is not
 * one JSON object, repeats a key, has a field the API does not take, or holds a string longer
 * than {@value #MAX_NAME} characters or with a lone UTF-16 surrogate, or a number beyond
 * ±10<sup>{@value #MAX_DIGITS}</sup> or with more than {@value #MAX_DIGITS} decimals: every
 * string the admin APIs store is an identifier or a name, and the store's columns hold 200.
 */
public final class AdminCalls {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** The longest identifier or name (model, plan, key, project, tenant name) the APIs store. */
  public static final int MAX_NAME = 200;
  /** The most digits a number may have before, and after, its decimal point. */
  static final int MAX_DIGITS = 18;
  private static final BigDecimal LARGEST = BigDecimal.TEN.pow(MAX_DIGITS);

  private AdminCalls() {}

  /**
   * The request's body as a JSON object of the top-level {@code fields} only; a 400 when it is
   * missing or refused (see the class comment).
   */
  public static Mono<JsonNode> body(ServerRequest request, Set<String> fields) {
    requireNonNull(fields, "fields");
    return request.bodyToMono(byte[].class)
        .switchIfEmpty(Mono.error(() -> OpenAiException.invalidRequest("The body is missing.", null)))
        .map(bytes -> object(bytes, fields));
  }

  /** {@code body} as a JSON object of the top-level {@code fields} only, checked as by {@link #body}. */
  public static JsonNode object(byte[] body, Set<String> fields) {
    JsonNode json = InspectedRequest.object(body);
    only(json, fields, "");
    check(json, "");
    return json;
  }

  /**
   * Refuses a field of the object {@code json} not in {@code fields}; {@code path} prefixes its
   * name in the message ({@code "targets[0]."}).
   */
  public static void only(JsonNode json, Set<String> fields, String path) {
    for (String field : json.propertyNames()) {
      if (!fields.contains(field)) {
        throw OpenAiException.invalidRequest("Unknown field '" + path + abbreviate(field)
            + "' (expected: " + fields.stream().sorted().toList() + ").", path + field);
      }
    }
  }

  /**
   * {@code value}, a name from a path or query ({@code param}), if the store can hold it: 1 to
   * {@value #MAX_NAME} characters of well-formed Unicode; a 400 otherwise.
   */
  public static String name(String value, String param) {
    if (value.isBlank()) {
      throw OpenAiException.invalidRequest("'" + param + "' must not be empty.", param);
    }
    text(value, param);
    return value;
  }

  /**
   * Refuses {@code names} (a list the store keeps in one column of {@code max} characters) when
   * they need more together.
   */
  public static void fits(Collection<String> names, int max, String param) {
    int length = names.stream().mapToInt(n -> n.length() + 1).sum();
    if (length > max) {
      throw OpenAiException.invalidRequest("'" + param + "' holds " + length + " characters of"
          + " names together (expected: at most " + max + ").", param);
    }
  }

  private static void check(JsonNode node, String path) {
    if (node.isObject()) {
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        String field = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        text(e.getKey(), field);
        check(e.getValue(), field);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        check(node.get(i), path);
      }
    } else if (node.isString()) {
      text(node.stringValue(), path);
    } else if (node.isNumber()) {
      BigDecimal n = node.decimalValue();
      if (n.abs().compareTo(LARGEST) >= 0 || n.stripTrailingZeros().scale() > MAX_DIGITS) {
        throw OpenAiException.invalidRequest("'" + abbreviate(path) + "' is out of range"
            + " (expected: below 1e" + MAX_DIGITS + ", at most " + MAX_DIGITS + " decimals).",
            path);
      }
    }
  }

  private static void text(String s, String param) {
    if (s.length() > MAX_NAME) {
      throw OpenAiException.invalidRequest("'" + abbreviate(param) + "' holds a name of "
          + s.length() + " characters (expected: at most " + MAX_NAME + ").", param);
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw OpenAiException.invalidRequest("'" + abbreviate(param) + "' holds a lone UTF-16"
            + " surrogate at " + i + " (expected: well-formed Unicode).", param);
      }
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "…" : s;
  }

  /**
   * Runs {@code work} on {@code blocking} and answers its JSON with {@code status}. A value the
   * store refuses (too long for its column, say: a check above missed it) is a 400, not a 500.
   */
  public static Mono<ServerResponse> run(Scheduler blocking, HttpStatus status,
      Callable<? extends JsonNode> work) {
    return Mono.fromCallable(work)
        .subscribeOn(blocking)
        .onErrorMap(ApiKeys.Refused.class, e -> {
          boolean missing = e.getMessage().startsWith("no ");
          return new OpenAiException(missing ? 404 : 409, "invalid_request_error",
              Character.toUpperCase(e.getMessage().charAt(0)) + e.getMessage().substring(1) + ".",
              null, missing ? "not_found" : "conflict");
        })
        .onErrorMap(DataIntegrityViolationException.class, e -> OpenAiException.invalidRequest(
            "The store cannot hold a value of this request (too long, or out of range).", null))
        .flatMap(json -> ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON)
            .bodyValue(JSON.writeValueAsBytes(json)));
  }
}
