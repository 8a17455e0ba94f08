package io.modelway.sim;

import io.modelway.openai.Endpoint;
import java.util.Arrays;
import tools.jackson.databind.JsonNode;

/**
 * A prompt as a simulated engine sees it: its length in tokens and the chained hashes of its full
 * {@value KvCache#BLOCK_TOKENS}-token blocks, which name its blocks in the {@link KvCache}.
 *
 * <p>Tokenization is approximate and needs no vocabulary: text is cut into pieces of four
 * characters (UTF-16 units), a piece being one token whose id is a hash of its characters; an
 * empty text is one token ({@link Answer#countTokens}). A chat request is laid out as a chat template would: each message is
 * three tokens of header (start, role, separator) and then its content (a string, or else its JSON
 * text), and three more tokens (start, {@code assistant}, separator) open the answer. A completion
 * prompt (a string, or else its JSON text) is cut the same way. So equal text gives equal tokens,
 * a conversation's next turn starts with every token of the previous one but the last three, and
 * the count is the {@code prompt_tokens} the sim reports in {@code usage}.
 *
 * <p>Each block's hash is a 64-bit hash of the model name and of every token from the first to the
 * block's last, computed as a running hash read at each block boundary (vLLM hashes a block with
 * its parent's hash, to the same effect).
 *
 * @param tokens the prompt's length in tokens, {@code >= 1}
 * @param blockHashes one per full block, in order; not copied, never modified
 */
record Prompt(int tokens, long[] blockHashes) {
  private static final long START = piece("<|start|>");
  private static final long SEPARATOR = piece("<|separator|>");
  private static final long ASSISTANT = piece("assistant");

  /** The prompt of a chat or completion request, {@code tree} being its parsed body. */
  static Prompt of(Endpoint endpoint, String model, JsonNode tree) {
    return of(endpoint, model, tree, false);
  }

  /**
   * The prompt of a chat or completion request, its text cut one token per UTF-8 byte when
   * {@code perByte} (the most tokens any byte-level tokenizer makes of it; the template's tokens
   * stay three per message and three for the answer), else into four-character pieces.
   */
  static Prompt of(Endpoint endpoint, String model, JsonNode tree, boolean perByte) {
    Builder b = new Builder(model, perByte);
    if (endpoint == Endpoint.CHAT_COMPLETIONS) {
      for (JsonNode message : tree.path("messages").values()) {
        b.token(START);
        b.token(piece(message.path("role").asString("")));
        b.token(SEPARATOR);
        b.text(text(message.path("content")));
      }
      b.token(START);
      b.token(ASSISTANT);
      b.token(SEPARATOR);
    } else {
      b.text(text(tree.path("prompt")));
    }
    return b.build();
  }

  private static String text(JsonNode node) {
    return node.isString() ? node.asString() : node.toString();
  }

  /** The token id of a piece of text. */
  private static long piece(CharSequence text) {
    return piece(text, 0, text.length());
  }

  private static long piece(CharSequence text, int from, int to) {
    long h = 0x6a09e667f3bcc909L;
    for (int i = from; i < to; i++) {
      h = (h ^ text.charAt(i)) * 0x100000001b3L;
    }
    return Answer.mix(h);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Prompt p && tokens == p.tokens && Arrays.equals(blockHashes, p.blockHashes);
  }

  @Override
  public int hashCode() {
    return 31 * tokens + Arrays.hashCode(blockHashes);
  }

  @Override
  public String toString() {
    return "Prompt[tokens=" + tokens + ", blocks=" + blockHashes.length + "]";
  }

  /** Feeds tokens into the running hash and reads it at each block boundary. */
  private static final class Builder {
    private long hash;
    private int tokens;
    private long[] blocks = new long[8];
    private int full;
    private final boolean perByte;

    Builder(String model, boolean perByte) {
      hash = piece(model);
      this.perByte = perByte;
    }

    void text(String text) {
      if (text.isEmpty()) {
        token(piece(""));
      }
      if (perByte) {
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
          token(Answer.mix(0x100 | (b & 0xff)));
        }
        return;
      }
      for (int i = 0; i < text.length(); i += 4) {
        token(piece(text, i, Math.min(text.length(), i + 4)));
      }
    }

    void token(long id) {
      hash = Answer.mix(hash ^ id) + 0x9e3779b97f4a7c15L;
      if (++tokens % KvCache.BLOCK_TOKENS == 0) {
        if (full == blocks.length) {
          blocks = Arrays.copyOf(blocks, full * 2);
        }
        blocks[full++] = hash;
      }
    }

    Prompt build() {
      return new Prompt(tokens, Arrays.copyOf(blocks, full));
    }
  }
}
