package io.modelway.bench;

import java.io.BufferedReader;
import java.io.IOException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a streamed OpenAI chat completion ({@code text/event-stream}, one {@code data:} line per
 * event) down to what the benchmark needs: the completion tokens from the usage event, and the
 * text when asked. Without the text, only the events that carry {@code usage} or an error are
 * parsed as JSON, so the client spends little CPU per token on the machine it shares with the
 * server.
 */
final class SseStream {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String DATA = "data:";

  private SseStream() {}

  /**
   * Reads the stream to its end.
   *
   * @throws IOException when the stream carries an error event, ends without {@code [DONE]}, has
   *     no usage event, or has an event after {@code [DONE]}
   */
  static Completion read(BufferedReader lines, boolean keepText) throws IOException {
    StringBuilder text = new StringBuilder();
    int usageTokens = -1;
    boolean done = false;
    String line;
    while ((line = lines.readLine()) != null) {
      if (!line.startsWith(DATA)) {
        continue; // blank separators, comments, other fields
      }
      String data = line.substring(DATA.length()).strip();
      if (done) {
        throw new IOException("an event after [DONE]: " + excerpt(data));
      }
      if (data.equals("[DONE]")) {
        done = true;
        continue;
      }
      boolean hasUsage = data.contains("\"usage\"");
      if (!keepText && !hasUsage && !data.startsWith("{\"error\"")) {
        continue;
      }
      JsonNode event = JSON.readTree(data);
      if (event.has("error")) {
        throw new IOException("error event: " + excerpt(data));
      }
      JsonNode usage = event.path("usage");
      if (usage.isObject()) {
        usageTokens = usage.path("completion_tokens").asInt(-1);
      }
      if (keepText) {
        text.append(event.at("/choices/0/delta/content").asString(""));
      }
    }
    if (!done) {
      throw new IOException("the stream ended without [DONE]");
    }
    if (usageTokens < 0) {
      throw new IOException("the stream had no usage event with completion_tokens");
    }
    return new Completion(usageTokens, text.toString());
  }

  static String excerpt(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "...";
  }
}
