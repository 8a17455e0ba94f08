package io.modelway.gateway.resilience;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import io.modelway.openai.SseFramer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * One streamed chat completion as the client sees it, across the instances that wrote it: what
 * went out so far (the stream's id, the text, how many tokens), the request that lets another
 * instance continue it, and the re-framing of that instance's chunks into the same stream.
 *
 * <p>Continuation: the conversation plus the text already sent, as a final assistant message,
 * with vLLM's {@code "continue_final_message": true, "add_generation_prompt": false} (honoured by
 * vLLM, Modelway workers and {@code modelway sim}), and {@code max_tokens} lowered by the tokens
 * already sent. The new instance's chunks are re-framed: the first stream's {@code id}, {@code
 * created} and {@code model}; no second {@code role}; chunks that carry nothing dropped; its usage
 * chunk's {@code completion_tokens} raised by the tokens sent before the seam, so the usage is the
 * whole answer's.
 *
 * <p>Tokens are counted one per chunk that carries text, as engines stream them. Not thread-safe:
 * one per stream, fed in order (Reactor serializes a stream's signals).
 */
public final class StreamSplice {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  static {
    // Builds and caches the tree (de)serializers now: built on first use under a lock, which
    // concurrent first calls on event loops would wait on.
    JSON.writeValueAsBytes(JSON.readTree("{\"a\":[1]}"));
  }
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  /** The {@code finish_reason} of the last chunk of a stream that was cut and not continued. */
  public static final String CUT = "error";

  private final StringBuilder text = new StringBuilder();
  private @Nullable String id;
  private long created = -1;
  private @Nullable String model;
  private int tokens;
  private int tokensBeforeSeam;
  private boolean toolCalls;
  private boolean finished;
  private boolean done;
  private boolean unreadable;
  private boolean continuing;

  /** Takes events as they go to the client (whole server-sent events, one or more). */
  public void sent(byte[] chunk) {
    forEachData(chunk, this::observe);
  }

  /** The tokens the client got so far. */
  public int tokens() {
    return tokens;
  }

  /** Whether the client got a chunk's {@code finish_reason}, or the stream's end. */
  public boolean finished() {
    return finished || done;
  }

  /**
   * Why the stream cannot be continued elsewhere, or empty when it can: a tool call was under
   * way (a half-written call cannot be resumed), or a chunk could not be read.
   */
  public Optional<String> whyNotContinuable() {
    if (toolCalls) {
      return Optional.of("a tool call was being streamed");
    }
    if (unreadable) {
      return Optional.of("a chunk could not be read");
    }
    return Optional.empty();
  }

  /**
   * The request that continues the answer from where the client's copy ends, made of the
   * original request {@code body}; empty when the request has more than one choice ({@code n}).
   */
  public Optional<byte[]> continuation(byte[] body) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JacksonException e) {
      return Optional.empty();
    }
    if (!(tree instanceof ObjectNode request) || !tree.path("messages").isArray()
        || tree.path("n").asInt(1) != 1) {
      return Optional.empty();
    }
    ArrayNode messages = ((ArrayNode) request.get("messages")).deepCopy();
    ObjectNode assistant = messages.addObject();
    assistant.put("role", "assistant");
    assistant.put("content", text.toString());
    ObjectNode next = request.deepCopy();
    next.set("messages", messages);
    next.put("continue_final_message", true);
    next.put("add_generation_prompt", false);
    for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
      JsonNode max = request.get(field);
      if (max != null && max.isIntegralNumber()) {
        next.put(field, Math.max(1, max.asLong() - tokens));
      }
    }
    return Optional.of(JSON.writeValueAsBytes(next));
  }

  /** From now on, chunks are another instance's continuation of this stream. */
  public void continuing() {
    continuing = true;
    tokensBeforeSeam = tokens;
  }

  /**
   * A continuing instance's events, re-framed as the rest of this stream (possibly nothing, as
   * an empty array, when they carry nothing the client lacks).
   */
  public byte[] reframe(byte[] chunk) {
    if (!continuing) {
      return chunk;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(chunk.length + 32);
    forEachEvent(chunk, (event, data) -> {
      if (data == null) {
        out.writeBytes(event);
        return;
      }
      if (data.equals("[DONE]")) {
        out.writeBytes(DONE);
        return;
      }
      JsonNode tree;
      try {
        tree = JSON.readTree(data);
      } catch (JacksonException e) {
        out.writeBytes(event);
        return;
      }
      if (!(tree instanceof ObjectNode node)) {
        out.writeBytes(event);
        return;
      }
      if (node.has("id") && id != null) {
        node.put("id", id);
      }
      if (node.has("created") && created >= 0) {
        node.put("created", created);
      }
      if (node.has("model") && model != null) {
        node.put("model", model);
      }
      boolean carries = false;
      JsonNode choices = node.path("choices");
      for (JsonNode choice : choices.values()) {
        if (choice.path("delta") instanceof ObjectNode delta) {
          delta.remove("role");
          JsonNode content = delta.path("content");
          if ((content.isString() && !content.asString().isEmpty()) || delta.has("tool_calls")
              || delta.has("refusal")) {
            carries = true;
          } else if (content.isString()) {
            delta.remove("content");
          }
        }
        if (!choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode()) {
          carries = true;
        }
      }
      if (node.path("usage") instanceof ObjectNode usage) {
        long completion = usage.path("completion_tokens").asLong(0) + tokensBeforeSeam;
        usage.put("completion_tokens", completion);
        usage.put("total_tokens", usage.path("prompt_tokens").asLong(0) + completion);
        carries = true;
      }
      if (node.has("error")) {
        carries = true;
      }
      if (carries) {
        out.writeBytes(SseFramer.dataEvent(JSON.writeValueAsBytes(node)));
      }
    });
    return out.toByteArray();
  }

  /**
   * The last chunk of a stream that was cut and will not be continued: {@code finish_reason}
   * {@value #CUT}, followed by {@code failure} as an OpenAI error event; no {@code [DONE]}.
   */
  public byte[] cutEnding(Endpoint endpoint, OpenAiException failure) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(failure, "failure");
    ObjectNode chunk = JSON.createObjectNode();
    chunk.put("id", id == null ? "" : id);
    chunk.put("object", endpoint == Endpoint.CHAT_COMPLETIONS ? "chat.completion.chunk"
        : "text_completion");
    chunk.put("created", created < 0 ? 0 : created);
    chunk.put("model", model == null ? "" : model);
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    if (endpoint == Endpoint.CHAT_COMPLETIONS) {
      choice.putObject("delta");
    } else {
      choice.put("text", "");
    }
    choice.put("finish_reason", CUT);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!finished) {
      out.writeBytes(SseFramer.dataEvent(JSON.writeValueAsBytes(chunk)));
    }
    out.writeBytes(failure.toSseEvent());
    return out.toByteArray();
  }

  private void observe(String data) {
    if (data.equals("[DONE]")) {
      done = true;
      return;
    }
    JsonNode tree;
    try {
      tree = JSON.readTree(data);
    } catch (JacksonException e) {
      unreadable = true;
      return;
    }
    if (id == null && tree.path("id").isString()) {
      id = tree.path("id").asString();
    }
    if (created < 0 && tree.path("created").isNumber()) {
      created = tree.path("created").asLong();
    }
    if (model == null && tree.path("model").isString()) {
      model = tree.path("model").asString();
    }
    for (JsonNode choice : tree.path("choices").values()) {
      JsonNode delta = choice.path("delta");
      JsonNode content = delta.path("content");
      if (content.isString() && !content.asString().isEmpty()) {
        text.append(content.asString());
        tokens++;
      } else {
        JsonNode plain = choice.path("text");
        if (plain.isString() && !plain.asString().isEmpty()) {
          text.append(plain.asString());
          tokens++;
        }
      }
      if (delta.has("tool_calls") && !delta.path("tool_calls").isNull()) {
        toolCalls = true;
      }
      JsonNode finish = choice.path("finish_reason");
      if (!finish.isNull() && !finish.isMissingNode()) {
        finished = true;
      }
    }
  }

  @FunctionalInterface
  private interface EventSink {
    /** One event, whole, and its data line's value (null when it has none). */
    void accept(byte[] event, @Nullable String data);
  }

  private static void forEachData(byte[] chunk, java.util.function.Consumer<String> data) {
    forEachEvent(chunk, (event, value) -> {
      if (value != null) {
        data.accept(value);
      }
    });
  }

  private static void forEachEvent(byte[] chunk, EventSink sink) {
    int start = 0;
    for (int i = 0; i + 1 < chunk.length; i++) {
      if (chunk[i] == '\n' && (chunk[i + 1] == '\n'
          || (chunk[i + 1] == '\r' && i + 2 < chunk.length && chunk[i + 2] == '\n'))) {
        int end = chunk[i + 1] == '\n' ? i + 2 : i + 3;
        event(chunk, start, end, sink);
        start = end;
        i = end - 1;
      }
    }
    if (start < chunk.length) {
      event(chunk, start, chunk.length, sink);
    }
  }

  private static void event(byte[] chunk, int from, int to, EventSink sink) {
    byte[] event = java.util.Arrays.copyOfRange(chunk, from, to);
    String s = new String(event, StandardCharsets.UTF_8);
    StringBuilder data = null;
    for (String line : s.split("\r?\n")) {
      if (line.startsWith("data:")) {
        String value = line.substring(5);
        if (value.startsWith(" ")) {
          value = value.substring(1);
        }
        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
      }
    }
    if (s.isBlank()) {
      return;
    }
    sink.accept(event, data == null ? null : data.toString().trim());
  }
}
