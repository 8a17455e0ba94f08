package io.modelway.runtime.llama;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The SSE event of one streamed piece of text, rendered from a template: the call's chunk event
 * with an empty text is rendered once (by Jackson), split around that empty string, and each piece
 * of text is escaped as a JSON string between the two halves. Per token that is one escape and one
 * array copy instead of a Jackson tree and its serialization. Immutable.
 */
final class TextEvents {
  private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
  /** The two-character escapes of control characters, as Jackson writes them; 0: none. */
  private static final byte[] SHORT = new byte[0x20];

  static {
    SHORT['\b'] = 'b';
    SHORT['\t'] = 't';
    SHORT['\n'] = 'n';
    SHORT['\f'] = 'f';
    SHORT['\r'] = 'r';
  }

  private final byte[] head;
  private final byte[] tail;

  private TextEvents(byte[] head, byte[] tail) {
    this.head = head;
    this.tail = tail;
  }

  /**
   * @param emptyEvent a whole event whose last {@code "field":""} is where the text goes
   * @throws IllegalArgumentException when the event holds no such field
   */
  static TextEvents of(byte[] emptyEvent, String field) {
    requireNonNull(emptyEvent, "emptyEvent");
    byte[] marker = ("\"" + field + "\":\"\"").getBytes(StandardCharsets.UTF_8);
    int at = lastIndexOf(emptyEvent, marker);
    if (at < 0) {
      throw new IllegalArgumentException("no empty '" + field + "' in "
          + new String(emptyEvent, StandardCharsets.UTF_8));
    }
    int split = at + marker.length - 2; // before the empty string's quotes
    return new TextEvents(Arrays.copyOfRange(emptyEvent, 0, split),
        Arrays.copyOfRange(emptyEvent, split + 2, emptyEvent.length));
  }

  /**
   * The event carrying {@code text}, escaped as JSON as Jackson escapes it: quote, backslash and
   * control characters; everything else as UTF-8.
   */
  byte[] render(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int extra = 2;
    for (byte b : utf8) {
      if (b == '"' || b == '\\' || (b >= 0 && b < 0x20 && SHORT[b] != 0)) {
        extra += 1;
      } else if (b >= 0 && b < 0x20) {
        extra += 5;
      }
    }
    byte[] out = new byte[head.length + utf8.length + extra + tail.length];
    System.arraycopy(head, 0, out, 0, head.length);
    int i = head.length;
    out[i++] = '"';
    for (byte b : utf8) {
      if (b == '"' || b == '\\') {
        out[i++] = '\\';
        out[i++] = b;
      } else if (b >= 0 && b < 0x20 && SHORT[b] != 0) {
        out[i++] = '\\';
        out[i++] = SHORT[b];
      } else if (b >= 0 && b < 0x20) {
        out[i++] = '\\';
        out[i++] = 'u';
        out[i++] = '0';
        out[i++] = '0';
        out[i++] = HEX[b >> 4];
        out[i++] = HEX[b & 0xf];
      } else {
        out[i++] = b;
      }
    }
    out[i++] = '"';
    System.arraycopy(tail, 0, out, i, tail.length);
    return out;
  }

  private static int lastIndexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = haystack.length - needle.length; i >= 0; i--) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
