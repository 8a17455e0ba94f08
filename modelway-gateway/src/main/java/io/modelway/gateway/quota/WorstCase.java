package io.modelway.gateway.quota;

import io.modelway.gateway.usage.Price;
import java.util.OptionalInt;

/**
 * The most a call can use — what a hard quota or budget reserves, so that no prompt, however its
 * text tokenizes, can make the real usage pass the reservation. Immutable.
 *
 * <p>The prompt bound is exact for a model this process runs (its own tokenizer and chat
 * template). Otherwise it is the request body's length in bytes, which is at least the UTF-8
 * bytes of every text in it (a JSON escape is never shorter than the character it stands for),
 * plus {@value #PER_CALL} tokens a call, {@value #PER_MESSAGE} a chat message or tool, and
 * {@value #PER_MEDIA} a part that is not text (an image, audio, a file, named by a URL shorter
 * than what the model reads of it). No byte-level tokenizer (GPT's, Llama 3's, Qwen's; SentencePiece
 * with byte fallback) makes more tokens of a text than it has UTF-8 bytes, and the constants hold
 * the tokens a chat template adds around the text: a few a message, and the default system text
 * of Llama 3.1, Qwen 2.5 or gpt-oss's harmony format, under a hundred.
 *
 * <p>The completion bound is {@code max_tokens} or {@code max_completion_tokens} (the larger, if
 * both are set) for each answer the call is billed for: {@code n}, or {@code best_of} when larger,
 * times each prompt of a completion's array of prompts. A generating call that sets neither is
 * given {@link #DEFAULT_CAP} as its {@code max_tokens} on its way to the model ({@link #cap}), so
 * that a bound exists for it too.
 *
 * @param promptTokens at most this many prompt tokens
 * @param completionTokens at most this many completion tokens, over every answer
 * @param cap the {@code max_tokens} the call must be sent with, when it set none
 * @param capField the field that carries {@code cap}: {@code max_tokens}, or {@code
 *     max_completion_tokens} when the body already has a {@code max_tokens} (a null one)
 */
record WorstCase(long promptTokens, long completionTokens, OptionalInt cap, String capField) {
  /** Tokens a call's chat template or format may add beyond its messages. */
  static final int PER_CALL = 256;
  /** Tokens a chat template may add around each message or tool definition. */
  static final int PER_MESSAGE = 16;
  /** Tokens one part that is not text (image, audio, file) may take. */
  static final int PER_MEDIA = 8192;
  /** The {@code max_tokens} of a call that sets none, when a hard quota applies to it. */
  static final int DEFAULT_CAP = 4096;
  /** Tokens past which a bound is not counted on: a call that may use this many is refused. */
  static final long MAX = 1_000_000_000_000L;

  /**
   * {@code body} (a JSON object) as it must be sent: with {@link #cap} added as its last field
   * when there is one, else unchanged. Adding it at the end leaves every byte offset of the body
   * where it was.
   */
  byte[] capped(byte[] body) {
    if (cap.isEmpty()) {
      return body;
    }
    int end = body.length - 1;
    while (body[end] != '}') {
      end--; // trailing white space
    }
    byte[] field = (",\"" + capField + "\":" + cap.getAsInt())
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] out = new byte[end + field.length + 1];
    System.arraycopy(body, 0, out, 0, end);
    System.arraycopy(field, 0, out, end, field.length);
    out[out.length - 1] = '}';
    return out;
  }

  /** Prompt and completion together, in tokens. */
  long tokens() {
    return Math.min(MAX, promptTokens + completionTokens);
  }

  /** The most it can cost at {@code price}, in billionths of its currency. */
  long costNanos(Price price) {
    try {
      // every prompt token at the dearer of the prompt prices, cached or not
      return Math.max(price.costNanos(promptTokens, 0, completionTokens),
          price.costNanos(promptTokens, promptTokens, completionTokens));
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE; // more than any budget: refused
    }
  }
}
