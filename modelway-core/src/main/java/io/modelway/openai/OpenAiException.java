package io.modelway.openai;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.json.JsonFactory;

/**
 * A failure that reaches the client as an OpenAI error body
 * {@code {"error":{"message","type","param","code"}}} with an HTTP status. Every error Modelway
 * produces is one of these; the factories name the cases so each status is chosen in one place.
 */
public final class OpenAiException extends RuntimeException {
  private static final JsonFactory JSON = new JsonFactory();
  private static final int MAX_RELAYED_MESSAGE = 2_000;

  private final int status;
  private final String type;
  private final @Nullable String param;
  private final @Nullable String code;
  private final @Nullable String retryAfter;
  private final Map<String, String> headers;

  public OpenAiException(
      int status, String type, String message, @Nullable String param, @Nullable String code) {
    this(status, type, message, param, code, null, null, Map.of());
  }

  private OpenAiException(
      int status,
      String type,
      String message,
      @Nullable String param,
      @Nullable String code,
      @Nullable String retryAfter,
      @Nullable Throwable cause) {
    this(status, type, message, param, code, retryAfter, cause, Map.of());
  }

  private OpenAiException(
      int status,
      String type,
      String message,
      @Nullable String param,
      @Nullable String code,
      @Nullable String retryAfter,
      @Nullable Throwable cause,
      Map<String, String> headers) {
    super(requireNonNull(message, "message"), cause, false, false);
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("status: " + status + " (expected: 400-599)");
    }
    this.status = status;
    this.type = requireNonNull(type, "type");
    this.param = param;
    this.code = code;
    this.retryAfter = retryAfter;
    this.headers = Map.copyOf(headers);
  }

  /** 400: the request is not valid; {@code param} names the offending field when there is one. */
  public static OpenAiException invalidRequest(String message, @Nullable String param) {
    return new OpenAiException(400, "invalid_request_error", message, param, null);
  }

  /** 404: no model of that name is served here. Says nothing about which models exist. */
  public static OpenAiException modelNotFound(String model) {
    return modelNotFound(model, "");
  }

  /**
   * 404 {@code model_not_found} whose message ends with {@code hint} (what to call instead, a
   * sentence; empty for none).
   */
  public static OpenAiException modelNotFound(String model, String hint) {
    return new OpenAiException(
        404,
        "invalid_request_error",
        "The model '" + model + "' does not exist or you do not have access to it."
            + (hint.isEmpty() ? "" : " " + hint),
        "model",
        "model_not_found");
  }

  /**
   * 429: a rate limit or quota of the caller's refused the call.
   *
   * @param type {@code requests} or {@code tokens}: what ran out (as OpenAI names it)
   * @param retryAfterSeconds when a retry may succeed, sent as {@code Retry-After}
   * @param headers more answer headers, such as {@code x-ratelimit-remaining-requests}
   */
  public static OpenAiException rateLimited(String type, String message, long retryAfterSeconds,
      Map<String, String> headers) {
    return new OpenAiException(429, type, message, null, "rate_limit_exceeded",
        Long.toString(Math.max(1, retryAfterSeconds)), null, headers);
  }

  /**
   * 429: the call may not fit in a monthly quota or budget of the caller's (OpenAI's {@code
   * insufficient_quota}).
   *
   * @param retryAfterSeconds until the quota renews, sent as {@code Retry-After}
   */
  public static OpenAiException quotaExceeded(String message, long retryAfterSeconds) {
    return new OpenAiException(429, "insufficient_quota", message, null, "insufficient_quota",
        Long.toString(Math.max(1, retryAfterSeconds)), null, Map.of());
  }

  /**
   * 429 or 503 with {@code Retry-After}: the model's instances are busy and its queue cannot take
   * or keep the call any longer (the gateway's scheduler).
   *
   * @param type {@code requests} for a 429 (as OpenAI's rate limits), {@code service_unavailable}
   *     for a 503
   * @param retryAfterSeconds when a retry may succeed
   */
  public static OpenAiException overloaded(int status, String type, String message, String code,
      long retryAfterSeconds) {
    if (status != 429 && status != 503) {
      throw new IllegalArgumentException("status: " + status + " (expected: 429 or 503)");
    }
    return new OpenAiException(status, type, message, null, code,
        Long.toString(Math.max(1, retryAfterSeconds)), null, Map.of());
  }

  /** 413: the request body is larger than {@code limitBytes} (negative: a limit not known here). */
  public static OpenAiException bodyTooLarge(long limitBytes) {
    return new OpenAiException(
        413,
        "invalid_request_error",
        limitBytes < 0
            ? "Request body is too large."
            : "Request body is larger than the limit of " + limitBytes + " bytes.",
        null,
        "request_too_large");
  }

  /**
   * 502: the backend could not be reached or closed the connection before answering. The message
   * names the kind of failure, not its text: that names the backend's internal address, which
   * the caller has no use for (the cause keeps it, for the log).
   */
  public static OpenAiException upstreamUnreachable(String backend, Throwable cause) {
    return new OpenAiException(
        502,
        "upstream_error",
        "Backend '" + backend + "' is unreachable (" + cause.getClass().getSimpleName() + ").",
        null,
        "upstream_unreachable",
        null,
        cause);
  }

  /** 504: the backend did not answer within its deadline ({@code what}: which deadline). */
  public static OpenAiException upstreamTimeout(String backend, String what) {
    return upstreamTimeout(backend, what, null);
  }

  /** 504, keeping the transport's failure as the cause. */
  public static OpenAiException upstreamTimeout(
      String backend, String what, @Nullable Throwable cause) {
    return new OpenAiException(504, "upstream_error",
        "Backend '" + backend + "' timed out: " + what + ".", null, "upstream_timeout", null,
        cause);
  }

  /**
   * The backend answered with an error status: keeps that status and, when the body is an OpenAI
   * error, its message, type, param and code; otherwise says what came back.
   */
  public static OpenAiException relayed(
      String backend, int status, byte[] body, @Nullable String retryAfter) {
    int relayedStatus = status >= 400 && status <= 599 ? status : 502;
    return parseError(body)
        .map(e -> new OpenAiException(
            relayedStatus, e.type, e.getMessage(), e.param, e.code, retryAfter, null))
        .orElseGet(() -> {
          String text = new String(body, java.nio.charset.StandardCharsets.UTF_8).strip();
          if (text.length() > 200) {
            text = text.substring(0, 200) + "…";
          }
          return new OpenAiException(
              relayedStatus,
              "upstream_error",
              "Backend '" + backend + "' answered HTTP " + status
                  + (text.isEmpty() ? "." : ": " + text),
              null,
              "upstream_error",
              retryAfter,
              null);
        });
  }

  /** Reads an OpenAI error body, if {@code body} is one. */
  public static Optional<OpenAiException> parseError(byte[] body) {
    String message = null;
    String type = "api_error";
    String param = null;
    String code = null;
    boolean sawError = false;
    try (JsonParser p = JSON.createParser(tools.jackson.core.ObjectReadContext.empty(), body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return Optional.empty();
      }
      while (p.nextToken() == JsonToken.PROPERTY_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (!"error".equals(field) || value != JsonToken.START_OBJECT) {
          p.skipChildren();
          continue;
        }
        sawError = true;
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          String text = t.isScalarValue() && t != JsonToken.VALUE_NULL ? p.getText() : null;
          if (t.isStructStart()) {
            p.skipChildren();
          }
          switch (name) {
            case "message" -> message = text;
            case "type" -> type = text == null ? type : text;
            case "param" -> param = text;
            case "code" -> code = text;
            default -> { }
          }
        }
      }
    } catch (RuntimeException notJson) {
      return Optional.empty();
    }
    if (!sawError || message == null) {
      return Optional.empty();
    }
    if (message.length() > MAX_RELAYED_MESSAGE) {
      message = message.substring(0, MAX_RELAYED_MESSAGE) + "…";
    }
    return Optional.of(new OpenAiException(400, type, message, param, code));
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public @Nullable String param() {
    return param;
  }

  public @Nullable String code() {
    return code;
  }

  /** The backend's {@code Retry-After}, relayed as it came, if it sent one. */
  public Optional<String> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /** Headers the answer carries besides {@code Retry-After}; empty for most errors. */
  public Map<String, String> headers() {
    return headers;
  }

  /** The error body: {@code {"error":{"message":…,"type":…,"param":…,"code":…}}}. */
  public byte[] toJson() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(tools.jackson.core.ObjectWriteContext.empty(), out)) {
      g.writeStartObject();
      g.writeName("error");
      g.writeStartObject();
      g.writeStringProperty("message", getMessage());
      g.writeStringProperty("type", type);
      g.writeStringProperty("param", param);
      g.writeStringProperty("code", code);
      g.writeEndObject();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  /** The same error as one server-sent event, for a stream that already began. */
  public byte[] toSseEvent() {
    return SseFramer.dataEvent(toJson());
  }
}
