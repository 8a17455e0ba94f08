package io.modelway.gateway.usage;

import java.nio.charset.StandardCharsets;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads what an answer used, without parsing the whole answer: the {@code usage} object (found by
 * scanning for its key, then parsed alone), and for streams without one, the number of chunks
 * that carried text (one token each, as engines stream them). Not thread-safe: one per request,
 * fed in order.
 */
final class Metering {
  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONTENT = "\"content\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TEXT = "\"text\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  long promptTokens;
  long completionTokens;
  long cachedTokens;
  boolean reported;
  private long counted;

  /** A whole (unstreamed) answer. */
  void whole(byte[] body) {
    usage(body, 0, body.length);
  }

  /** Some whole server-sent events of a streamed answer. */
  void events(byte[] chunk) {
    int start = 0;
    for (int i = 0; i + 1 < chunk.length; i++) {
      if (chunk[i] == '\n' && chunk[i + 1] == '\n') {
        event(chunk, start, i);
        start = i + 2;
        i++;
      }
    }
    if (start < chunk.length) {
      event(chunk, start, chunk.length);
    }
  }

  private void event(byte[] b, int from, int to) {
    if (!usage(b, from, to)
        && (indexOf(b, CONTENT, from, to, true) >= 0 || indexOf(b, TEXT, from, to, true) >= 0)) {
      counted++;
    }
  }

  /** The completion tokens: the backend's count, else the text chunks counted. */
  long completion() {
    return reported ? completionTokens : counted;
  }

  /** Whether {@code chunk} ends with the stream's {@code data: [DONE]} event. */
  static boolean endsWithDone(byte[] chunk) {
    if (chunk.length < DONE.length) {
      return false;
    }
    for (int i = 0; i < DONE.length; i++) {
      if (chunk[chunk.length - DONE.length + i] != DONE[i]) {
        return false;
      }
    }
    return true;
  }

  /** Reads the last {@code "usage": {...}} in {@code b[from, to)}; whether there was one. */
  private boolean usage(byte[] b, int from, int to) {
    int at = lastIndexOf(b, USAGE, from, to);
    if (at < 0) {
      return false;
    }
    int i = at + USAGE.length;
    while (i < to && (b[i] == ' ' || b[i] == ':' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
      i++;
    }
    if (i >= to || b[i] != '{') {
      return false; // "usage": null, or not a key
    }
    long prompt = 0;
    long completion = 0;
    long cached = 0;
    try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), b, i, to - i)) {
      p.nextToken();
      int depth = 0;
      String outer = null;
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t == JsonToken.START_OBJECT) {
          depth++;
        } else if (t == JsonToken.END_OBJECT) {
          if (depth-- == 0) {
            break;
          }
        } else if (t == JsonToken.PROPERTY_NAME) {
          String name = p.currentName();
          JsonToken value = p.nextToken();
          if (value == JsonToken.START_OBJECT) {
            depth++;
            outer = name;
          } else if (value.isNumeric()) {
            long n = p.getLongValue();
            if (depth == 0 && name.equals("prompt_tokens")) {
              prompt = n;
            } else if (depth == 0 && name.equals("completion_tokens")) {
              completion = n;
            } else if (depth == 1 && "prompt_tokens_details".equals(outer)
                && name.equals("cached_tokens")) {
              cached = n;
            }
          } else if (value == JsonToken.START_ARRAY) {
            p.skipChildren();
          }
        }
      }
    } catch (JacksonException e) {
      return false;
    }
    promptTokens = prompt;
    completionTokens = completion;
    cachedTokens = cached;
    reported = true;
    return true;
  }

  /** The last unescaped occurrence of {@code key} in {@code b[from, to)}. */
  private static int lastIndexOf(byte[] b, byte[] key, int from, int to) {
    for (int i = to - key.length; i >= from; i--) {
      if (matches(b, key, i) && (i == from || b[i - 1] != '\\')) {
        return i;
      }
    }
    return -1;
  }

  /** The first occurrence of {@code key} in {@code b[from, to)}, followed by a non-quote if asked. */
  private static int indexOf(byte[] b, byte[] key, int from, int to, boolean nonEmpty) {
    for (int i = from; i <= to - key.length; i++) {
      if (matches(b, key, i) && (!nonEmpty || (i + key.length < to && b[i + key.length] != '"'))) {
        return i;
      }
    }
    return -1;
  }

  private static boolean matches(byte[] b, byte[] key, int at) {
    for (int k = 0; k < key.length; k++) {
      if (b[at + k] != key[k]) {
        return false;
      }
    }
    return true;
  }
}
