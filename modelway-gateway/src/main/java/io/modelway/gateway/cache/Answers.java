package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.Endpoint;
import io.modelway.openai.SseFramer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Converts between the two forms of one answer: whole (the JSON body of a call without {@code
 * stream}) and streamed (server-sent chunks). The cache keeps the whole form; a streamed answer
 * is assembled into it, and a cached answer is replayed to a streaming caller as the chunks a
 * model would send: per choice, a chunk with the role, one with the content (or the tool calls),
 * one with the finish reason; then the usage chunk when {@code stream_options.include_usage}
 * asked for it; then {@code data: [DONE]}. Stateless, except {@link Assembler}.
 */
public final class Answers {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  private Answers() {}

  /**
   * The chunks of {@code whole}, a cached answer of {@code endpoint}, ending with {@code data:
   * [DONE]}.
   *
   * @throws IllegalArgumentException when {@code whole} is not an answer of that endpoint
   */
  public static byte[] replay(Endpoint endpoint, byte[] whole, boolean includeUsage) {
    requireNonNull(endpoint, "endpoint");
    JsonNode answer = read(whole).orElseThrow(() ->
        new IllegalArgumentException("not a JSON answer"));
    JsonNode choices = answer.path("choices");
    if (!choices.isArray()) {
      throw new IllegalArgumentException("an answer without choices");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(whole.length * 2);
    boolean chat = endpoint == Endpoint.CHAT_COMPLETIONS;
    for (JsonNode choice : choices) {
      int index = choice.path("index").asInt(0);
      if (chat) {
        JsonNode message = choice.path("message");
        ObjectNode role = NODES.objectNode();
        role.put("role", message.path("role").asString("assistant"));
        if (message.path("content").isNull() || message.path("content").isMissingNode()) {
          role.putNull("content"); // as a model starts an answer of tool calls only
        } else {
          role.put("content", "");
        }
        event(out, chunk(answer, chat, index, role, null, null));
        ObjectNode body = NODES.objectNode();
        message.properties().forEach(member -> {
          if (!member.getKey().equals("role") && !member.getValue().isNull()) {
            body.set(member.getKey(), withIndexes(member.getKey(), member.getValue()));
          }
        });
        if (!body.isEmpty()) {
          event(out, chunk(answer, chat, index, body, choice.get("logprobs"), null));
        }
        event(out, chunk(answer, chat, index, NODES.objectNode(), null,
            choice.get("finish_reason")));
      } else {
        ObjectNode text = NODES.objectNode();
        text.put("text", choice.path("text").asString(""));
        event(out, chunk(answer, chat, index, text, choice.get("logprobs"), null));
        event(out, chunk(answer, chat, index, NODES.objectNode().put("text", ""), null,
            choice.get("finish_reason")));
      }
    }
    JsonNode usage = answer.get("usage");
    if (includeUsage && usage != null && !usage.isNull()) {
      ObjectNode last = header(answer, chat);
      last.set("choices", NODES.arrayNode());
      last.set("usage", usage);
      event(out, last);
    }
    out.writeBytes(DONE);
    return out.toByteArray();
  }

  /** Tool calls in a delta carry their position in the list, as streamed ones do. */
  private static JsonNode withIndexes(String field, JsonNode value) {
    if (!field.equals("tool_calls") || !value.isArray()) {
      return value;
    }
    ArrayNode calls = NODES.arrayNode();
    for (int i = 0; i < value.size(); i++) {
      ObjectNode call = NODES.objectNode().put("index", i);
      value.get(i).properties().forEach(member -> call.set(member.getKey(), member.getValue()));
      calls.add(call);
    }
    return calls;
  }

  private static ObjectNode header(JsonNode answer, boolean chat) {
    ObjectNode chunk = NODES.objectNode();
    chunk.set("id", answer.path("id"));
    chunk.put("object", chat ? "chat.completion.chunk" : "text_completion");
    chunk.set("created", answer.path("created"));
    chunk.set("model", answer.path("model"));
    JsonNode fingerprint = answer.get("system_fingerprint");
    if (fingerprint != null) {
      chunk.set("system_fingerprint", fingerprint);
    }
    return chunk;
  }

  private static ObjectNode chunk(JsonNode answer, boolean chat, int index, ObjectNode delta,
      @Nullable JsonNode logprobs, @Nullable JsonNode finishReason) {
    ObjectNode chunk = header(answer, chat);
    ObjectNode choice = NODES.objectNode().put("index", index);
    if (chat) {
      choice.set("delta", delta);
    } else {
      delta.properties().forEach(member -> choice.set(member.getKey(), member.getValue()));
    }
    choice.set("logprobs", logprobs == null ? NODES.nullNode() : logprobs);
    choice.set("finish_reason", finishReason == null ? NODES.nullNode() : finishReason);
    chunk.set("choices", NODES.arrayNode().add(choice));
    return chunk;
  }

  private static void event(ByteArrayOutputStream out, JsonNode chunk) {
    out.writeBytes(SseFramer.dataEvent(JSON.writeValueAsBytes(chunk)));
  }

  private static Optional<JsonNode> read(byte[] json) {
    try {
      JsonNode node = JSON.readTree(json);
      return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
    } catch (JacksonException e) {
      return Optional.empty();
    }
  }

  /**
   * Builds the whole form of a streamed answer from its events, fed in order as they pass to
   * the client. An answer it cannot rebuild faithfully — an error event, a chunk it does not
   * understand, no {@code [DONE]} — has no whole form. Not thread-safe: one per stream.
   */
  public static final class Assembler {
    private final boolean chat;
    private final SseFramer framer = new SseFramer();
    private final Map<Integer, Choice> choices = new TreeMap<>();
    private @Nullable JsonNode first;
    private @Nullable JsonNode usage;
    private boolean broken;
    private boolean done;

    private static final class Choice {
      @Nullable String role;
      final StringBuilder content = new StringBuilder();
      boolean hasContent;
      final StringBuilder refusal = new StringBuilder();
      boolean hasRefusal;
      final Map<Integer, ObjectNode> toolCalls = new TreeMap<>();
      final Map<Integer, StringBuilder> arguments = new TreeMap<>();
      @Nullable JsonNode finishReason;
    }

    public Assembler(Endpoint endpoint) {
      this.chat = requireNonNull(endpoint, "endpoint") == Endpoint.CHAT_COMPLETIONS;
    }

    /** Takes the next bytes of the stream, as received. */
    public void feed(byte[] bytes) {
      if (broken || done) {
        return;
      }
      byte[] events;
      try {
        events = framer.feed(bytes);
      } catch (IllegalStateException tooLarge) {
        broken = true;
        return;
      }
      if (events.length == 0) {
        return;
      }
      for (String event : new String(events, StandardCharsets.UTF_8).split("\r?\n\r?\n")) {
        take(event);
        if (broken || done) {
          return;
        }
      }
    }

    private void take(String event) {
      StringBuilder data = new StringBuilder();
      boolean named = false;
      for (String line : event.split("\r?\n")) {
        if (line.startsWith("data:")) {
          data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
        } else if (line.startsWith("event:")) {
          named = true;
        }
      }
      if (data.isEmpty()) {
        return;
      }
      if (named) { // an error event, or one this assembler does not know
        broken = true;
        return;
      }
      if (data.toString().equals("[DONE]")) {
        done = true;
        return;
      }
      Optional<JsonNode> parsed = read(data.toString().getBytes(StandardCharsets.UTF_8));
      if (parsed.isEmpty() || parsed.get().has("error")) {
        broken = true;
        return;
      }
      JsonNode chunk = parsed.get();
      if (first == null) {
        first = chunk;
      }
      JsonNode chunkUsage = chunk.get("usage");
      if (chunkUsage != null && !chunkUsage.isNull()) {
        usage = chunkUsage;
      }
      for (JsonNode c : chunk.path("choices")) {
        Choice choice = choices.computeIfAbsent(c.path("index").asInt(0), i -> new Choice());
        JsonNode logprobs = c.get("logprobs");
        if (logprobs != null && !logprobs.isNull()) {
          broken = true; // per-token log probabilities are not kept
          return;
        }
        if (chat) {
          takeDelta(choice, c.path("delta"));
        } else {
          choice.content.append(c.path("text").asString(""));
          choice.hasContent = true;
        }
        JsonNode finish = c.get("finish_reason");
        if (finish != null && !finish.isNull()) {
          choice.finishReason = finish;
        }
      }
    }

    private void takeDelta(Choice choice, JsonNode delta) {
      for (Map.Entry<String, JsonNode> member : delta.properties()) {
        JsonNode value = member.getValue();
        switch (member.getKey()) {
          case "role" -> choice.role = value.asString(null);
          case "content" -> {
            if (!value.isNull()) {
              choice.content.append(value.asString(""));
              choice.hasContent = true;
            }
          }
          case "refusal" -> {
            if (!value.isNull()) {
              choice.refusal.append(value.asString(""));
              choice.hasRefusal = true;
            }
          }
          case "tool_calls" -> {
            for (JsonNode call : value) {
              int index = call.path("index").asInt(0);
              ObjectNode kept = choice.toolCalls.computeIfAbsent(index, i -> NODES.objectNode());
              StringBuilder arguments =
                  choice.arguments.computeIfAbsent(index, i -> new StringBuilder());
              call.properties().forEach(part -> {
                switch (part.getKey()) {
                  case "index" -> { }
                  case "function" -> {
                    ObjectNode function = kept.has("function")
                        ? (ObjectNode) kept.get("function") : kept.putObject("function");
                    part.getValue().properties().forEach(f -> {
                      if (f.getKey().equals("arguments")) {
                        arguments.append(f.getValue().asString(""));
                      } else if (!f.getValue().isNull()) {
                        function.set(f.getKey(), f.getValue());
                      }
                    });
                  }
                  default -> {
                    if (!part.getValue().isNull()) {
                      kept.set(part.getKey(), part.getValue());
                    }
                  }
                }
              });
            }
          }
          default -> {
            if (!value.isNull()) {
              broken = true; // a delta field whose streamed form this does not know
            }
          }
        }
      }
    }

    /** The whole answer, once the stream ended with {@code [DONE]} and nothing was amiss. */
    public Optional<byte[]> whole() {
      if (broken || !done || first == null || choices.isEmpty()) {
        return Optional.empty();
      }
      ObjectNode answer = NODES.objectNode();
      answer.set("id", first.path("id"));
      answer.put("object", chat ? "chat.completion" : "text_completion");
      answer.set("created", first.path("created"));
      answer.set("model", first.path("model"));
      JsonNode fingerprint = first.get("system_fingerprint");
      if (fingerprint != null) {
        answer.set("system_fingerprint", fingerprint);
      }
      ArrayNode list = answer.putArray("choices");
      List<Integer> indexes = new ArrayList<>(choices.keySet());
      for (int index : indexes) {
        Choice choice = choices.get(index);
        ObjectNode c = NODES.objectNode().put("index", index);
        if (chat) {
          ObjectNode message = c.putObject("message");
          message.put("role", choice.role == null ? "assistant" : choice.role);
          if (choice.hasContent || choice.toolCalls.isEmpty()) {
            message.put("content", choice.content.toString());
          } else {
            message.putNull("content");
          }
          if (choice.hasRefusal) {
            message.put("refusal", choice.refusal.toString());
          }
          if (!choice.toolCalls.isEmpty()) {
            ArrayNode calls = message.putArray("tool_calls");
            choice.toolCalls.forEach((i, call) -> {
              ObjectNode function = call.has("function")
                  ? (ObjectNode) call.get("function") : call.putObject("function");
              function.put("arguments", choice.arguments.get(i).toString());
              calls.add(call);
            });
          }
        } else {
          c.put("text", choice.content.toString());
        }
        c.putNull("logprobs");
        c.set("finish_reason", choice.finishReason == null ? NODES.nullNode() : choice.finishReason);
        list.add(c);
      }
      if (usage != null) {
        answer.set("usage", usage);
      }
      return Optional.of(JSON.writeValueAsBytes(answer));
    }
  }
}
