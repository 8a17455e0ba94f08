package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The chat messages each client sends: the same on every side of the comparison, and different
 * per client so that the slots do not all hold the same prompt. Immutable.
 */
final class Prompts {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String[] TOPICS = {
    "cat", "dog", "moon", "sea", "tree", "bird", "road", "lake", "star", "fire", "snow", "hill",
  };

  private final int clients;

  /** Prompts for {@code clients} clients, numbered from 0. */
  Prompts(int clients) {
    if (clients < 1) {
      throw new IllegalArgumentException("clients: " + clients + " (expected: >= 1)");
    }
    this.clients = clients;
  }

  int clients() {
    return clients;
  }

  /** Client {@code client}'s messages, as the OpenAI {@code messages} array. */
  ArrayNode messages(int client) {
    if (client < 0 || client >= clients) {
      throw new IndexOutOfBoundsException("client: " + client + " (expected: 0.." + (clients - 1) + ")");
    }
    ArrayNode messages = JSON.createArrayNode();
    messages.addObject().put("role", "system").put("content", "You are a concise assistant.");
    messages.addObject().put("role", "user")
        .put("content", "Tell story " + (client + 1) + " about the " + TOPICS[client % TOPICS.length] + ".");
    return messages;
  }

  /** What llama.cpp's chat template renders: {@code {"messages": [...]}}, as the backend passes it. */
  String templateInput(int client) {
    ObjectNode input = JSON.createObjectNode();
    input.set("messages", messages(client));
    return JSON.writeValueAsString(input);
  }

  /**
   * The body of client {@code client}'s chat completion request: greedy ({@code temperature} 0),
   * {@code max_tokens} {@code tokens}; streamed with usage in the last event when {@code stream}.
   */
  byte[] chatRequest(int client, String model, int tokens, boolean stream) {
    requireNonNull(model, "model");
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.set("messages", messages(client));
    body.put("max_tokens", tokens);
    body.put("temperature", 0);
    if (stream) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
    }
    return JSON.writeValueAsBytes(body);
  }
}
