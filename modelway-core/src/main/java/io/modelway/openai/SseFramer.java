package io.modelway.openai;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Cuts a server-sent-event byte stream at event boundaries (a blank line), so that what is relayed
 * is always whole events and an error event can be appended cleanly after any of them. Holds at
 * most one partial event. Not thread-safe: one instance per stream, fed in order.
 */
public final class SseFramer {
  private static final byte[] EMPTY = new byte[0];
  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA_PREFIX = "data: ".getBytes(StandardCharsets.US_ASCII);
  /** A single event larger than this is not an LLM token chunk; the stream is refused. */
  static final int MAX_EVENT_BYTES = 4 * 1024 * 1024;

  private byte[] pending = EMPTY;
  private boolean done;

  /**
   * Takes the next bytes of the stream and returns every event completed by them (possibly none,
   * as an empty array), in order and byte for byte as received.
   *
   * @throws IllegalStateException when a single event grows past 4 MiB
   */
  public byte[] feed(byte[] chunk) {
    byte[] buf = pending.length == 0 ? chunk : concat(pending, chunk);
    int from = Math.max(0, pending.length - 2);
    int eventStart = 0;
    int lastEnd = 0;
    for (int i = from; i < buf.length; i++) {
      if (buf[i] != '\n') {
        continue;
      }
      int end;
      if (i + 1 < buf.length && buf[i + 1] == '\n') {
        end = i + 2;
      } else if (i + 2 < buf.length && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
        end = i + 3;
      } else {
        continue;
      }
      if (isDone(buf, eventStart, end)) {
        done = true;
      }
      eventStart = end;
      lastEnd = end;
      i = end - 1;
    }
    if (buf.length - lastEnd > MAX_EVENT_BYTES) {
      throw new IllegalStateException("server-sent event larger than " + MAX_EVENT_BYTES + " bytes");
    }
    pending = lastEnd == buf.length ? EMPTY : Arrays.copyOfRange(buf, lastEnd, buf.length);
    if (lastEnd == 0) {
      return EMPTY;
    }
    return lastEnd == buf.length ? buf : Arrays.copyOfRange(buf, 0, lastEnd);
  }

  /** One server-sent event carrying {@code json}: {@code data: <json>\n\n}. */
  public static byte[] dataEvent(byte[] json) {
    byte[] event = new byte[json.length + 8];
    System.arraycopy(DATA_PREFIX, 0, event, 0, DATA_PREFIX.length);
    System.arraycopy(json, 0, event, DATA_PREFIX.length, json.length);
    event[event.length - 2] = '\n';
    event[event.length - 1] = '\n';
    return event;
  }

  /** Whether the {@code data: [DONE]} event has passed. */
  public boolean done() {
    return done;
  }

  /** Whether bytes of an unfinished event are held back (anything but blank lines). */
  public boolean hasPartialEvent() {
    for (byte b : pending) {
      if (b != '\n' && b != '\r' && b != ' ') {
        return true;
      }
    }
    return false;
  }

  private static boolean isDone(byte[] buf, int start, int end) {
    int i = start;
    while (i < end) {
      int lineEnd = i;
      while (lineEnd < end && buf[lineEnd] != '\n') {
        lineEnd++;
      }
      int j = i;
      if (lineEnd - j >= 5 && buf[j] == 'd' && buf[j + 1] == 'a' && buf[j + 2] == 't'
          && buf[j + 3] == 'a' && buf[j + 4] == ':') {
        j += 5;
        while (j < lineEnd && buf[j] == ' ') {
          j++;
        }
        int k = lineEnd;
        while (k > j && (buf[k - 1] == '\r' || buf[k - 1] == ' ')) {
          k--;
        }
        if (Arrays.equals(buf, j, k, DONE, 0, DONE.length)) {
          return true;
        }
      }
      i = lineEnd + 1;
    }
    return false;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
