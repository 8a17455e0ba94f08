package io.modelway.gateway.routing;

import io.modelway.openai.Endpoint;
import java.util.Arrays;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The prompt of a request as a chain of block hashes, for {@link PrefixAware} routing: the text
 * the engine will see (each chat message's role and content, in order; or a completion's prompt)
 * is cut into blocks of {@value #BLOCK_CHARS} characters, about 16 tokens, and each full block is
 * named by a 64-bit hash of everything from the start of the prompt to the block's end. Two
 * prompts share their first {@code k} block hashes exactly when they agree on their first
 * {@code k} blocks of text (up to hash collisions), as with vLLM's prefix-cache block hashes; a
 * conversation's next turn starts with all the blocks of the previous one.
 *
 * <p>Approximate by design: no tokenizer, no chat template; only the relative order of prefix
 * matches matters. Stateless and thread-safe.
 */
final class PromptBlocks {
  /** Characters per block: 16 tokens of about four characters, vLLM's default block size. */
  static final int BLOCK_CHARS = 64;

  private static final long[] NONE = new long[0];
  private static final JsonMapper JSON = JsonMapper.builder().build();

  static {
    // Builds and caches the tree deserializer now: built on first use, under a lock that
    // concurrent first calls on event loops would wait on.
    JSON.readTree("{}");
  }
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private PromptBlocks() {}

  /** The block hashes of {@code body}'s prompt; none for embeddings or a body without a prompt. */
  static long[] of(Endpoint endpoint, byte[] body) {
    if (endpoint == Endpoint.EMBEDDINGS) {
      return NONE;
    }
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JacksonException e) {
      return NONE;
    }
    Hasher hasher = new Hasher();
    if (endpoint == Endpoint.CHAT_COMPLETIONS) {
      for (JsonNode message : tree.path("messages").values()) {
        hasher.text("\u0002");
        hasher.text(message.path("role").asString(""));
        hasher.text("\u0003");
        hasher.text(text(message.path("content")));
      }
    } else {
      hasher.text(text(tree.path("prompt")));
    }
    return hasher.blocks();
  }

  /** The block hashes of a plain text, as if it were a completion's prompt. */
  static long[] ofText(String text) {
    Hasher hasher = new Hasher();
    hasher.text(text);
    return hasher.blocks();
  }

  private static String text(JsonNode node) {
    if (node.isMissingNode() || node.isNull()) {
      return "";
    }
    return node.isString() ? node.asString() : node.toString();
  }

  /** FNV-1a over the characters, read (and mixed) at each block boundary. */
  private static final class Hasher {
    private long hash = FNV_OFFSET;
    private int chars;
    private long[] blocks = new long[8];
    private int full;

    void text(String text) {
      for (int i = 0; i < text.length(); i++) {
        hash = (hash ^ text.charAt(i)) * FNV_PRIME;
        if (++chars % BLOCK_CHARS == 0) {
          if (full == blocks.length) {
            blocks = Arrays.copyOf(blocks, full * 2);
          }
          blocks[full++] = mix(hash);
        }
      }
    }

    long[] blocks() {
      return full == 0 ? NONE : Arrays.copyOf(blocks, full);
    }
  }

  /** The finalizer of MurmurHash3: spreads every input bit over the output. */
  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }

  /** A 64-bit hash of a string, for hash rings. */
  static long hash(String text) {
    long h = FNV_OFFSET;
    for (int i = 0; i < text.length(); i++) {
      h = (h ^ text.charAt(i)) * FNV_PRIME;
    }
    return mix(h);
  }
}
