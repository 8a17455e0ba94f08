package io.modelway.runtime.llama;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes a tiny, random-weight llama model as a GGUF v3 file: 2 layers, 32-wide embeddings, 4
 * heads, F32 tensors, an SPM vocabulary with byte fallback, and a plain-text chat template. The
 * weights come from a seed, so the same seed gives the same file and the same greedy output.
 *
 * <p>The output rows of the special and byte tokens are zero while every word token's row is
 * random: under greedy decoding the model then only ever emits word tokens, so it never ends on
 * its own (EOS) and never emits half a UTF-8 character. Tests end generation with
 * {@code max_tokens} or a stop string.
 */
public final class GgufWriter {
  static final String CHAT_TEMPLATE =
      "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
          + "{% if add_generation_prompt %}assistant:{% endif %}";

  private static final int N_EMBD = 32;
  private static final int N_HEAD = 4;
  private static final int N_FF = 64;
  private static final int N_LAYER = 2;
  private static final int ALIGNMENT = 32;
  private static final String[] WORDS = {
    "the", "a", "cat", "dog", "sat", "on", "mat", "and", "is", "was", "hello", "world", "model",
    "way", "token", "run", "fast", "slow", "red", "blue", "green", "one", "two", "three", "four",
    "five", "up", "down", "left", "right", "yes", "no", "sun", "moon", "star", "tree", "sky", "sea",
    "rain", "snow", "wind", "fire", "stone", "bird", "fish", "book", "door", "road", "hill", "lake",
  };

  private GgufWriter() {}

  /** Writes the model for {@code seed} to {@code file} and returns {@code file}. */
  public static Path write(Path file, long seed) {
    try {
      Files.write(file, bytes(seed));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] bytes(long seed) {
    List<String> tokens = new ArrayList<>();
    List<Integer> types = new ArrayList<>();
    tokens.add("<unk>");
    types.add(2);
    tokens.add("<s>");
    types.add(3);
    tokens.add("</s>");
    types.add(3);
    for (int b = 0; b < 256; b++) {
      tokens.add(String.format("<0x%02X>", b));
      types.add(6);
    }
    int firstWord = tokens.size();
    tokens.add("\u2581");
    types.add(1);
    for (char c = 'a'; c <= 'z'; c++) {
      tokens.add(String.valueOf(c));
      types.add(1);
    }
    for (String w : WORDS) {
      tokens.add("\u2581" + w);
      types.add(1);
    }
    for (String p : new String[] {":", ".", ",", "!", "?"}) {
      tokens.add(p);
      types.add(1);
    }
    int nVocab = tokens.size();
    float[] scores = new float[nVocab];
    for (int i = firstWord; i < nVocab; i++) {
      scores[i] = -(i - firstWord) / 10f + tokens.get(i).length();
    }

    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    tensors.add(new Tensor("token_embd.weight", new long[] {N_EMBD, nVocab},
        randoms(random, N_EMBD * nVocab, 1f)));
    float[] output = randoms(random, N_EMBD * nVocab, 1f);
    for (int t = 0; t < firstWord; t++) {
      for (int i = 0; i < N_EMBD; i++) {
        output[t * N_EMBD + i] = 0;
      }
    }
    tensors.add(new Tensor("output.weight", new long[] {N_EMBD, nVocab}, output));
    tensors.add(new Tensor("output_norm.weight", new long[] {N_EMBD}, ones(N_EMBD)));
    for (int l = 0; l < N_LAYER; l++) {
      String p = "blk." + l + ".";
      float scale = 0.3f;
      tensors.add(new Tensor(p + "attn_norm.weight", new long[] {N_EMBD}, ones(N_EMBD)));
      for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) {
        tensors.add(new Tensor(p + m + ".weight", new long[] {N_EMBD, N_EMBD},
            randoms(random, N_EMBD * N_EMBD, scale)));
      }
      tensors.add(new Tensor(p + "ffn_norm.weight", new long[] {N_EMBD}, ones(N_EMBD)));
      tensors.add(new Tensor(p + "ffn_gate.weight", new long[] {N_EMBD, N_FF},
          randoms(random, N_EMBD * N_FF, scale)));
      tensors.add(new Tensor(p + "ffn_up.weight", new long[] {N_EMBD, N_FF},
          randoms(random, N_EMBD * N_FF, scale)));
      tensors.add(new Tensor(p + "ffn_down.weight", new long[] {N_FF, N_EMBD},
          randoms(random, N_FF * N_EMBD, scale)));
    }

    Out out = new Out();
    out.u32(0x46554747); // "GGUF"
    out.u32(3);
    out.u64(tensors.size());
    int kvCount = 19;
    out.u64(kvCount);
    out.kvString("general.architecture", "llama");
    out.kvString("general.name", "modelway-test-" + seed);
    out.kvU32("general.alignment", ALIGNMENT);
    out.kvU32("llama.context_length", 4096);
    out.kvU32("llama.embedding_length", N_EMBD);
    out.kvU32("llama.block_count", N_LAYER);
    out.kvU32("llama.feed_forward_length", N_FF);
    out.kvU32("llama.attention.head_count", N_HEAD);
    out.kvU32("llama.attention.head_count_kv", N_HEAD);
    out.kvU32("llama.rope.dimension_count", N_EMBD / N_HEAD);
    out.kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    out.kvString("tokenizer.ggml.model", "llama");
    out.key("tokenizer.ggml.tokens");
    out.u32(9);
    out.u32(8);
    out.u64(nVocab);
    tokens.forEach(out::string);
    out.key("tokenizer.ggml.scores");
    out.u32(9);
    out.u32(6);
    out.u64(nVocab);
    for (float s : scores) {
      out.f32(s);
    }
    out.key("tokenizer.ggml.token_type");
    out.u32(9);
    out.u32(5);
    out.u64(nVocab);
    types.forEach(out::u32);
    out.kvU32("tokenizer.ggml.bos_token_id", 1);
    out.kvU32("tokenizer.ggml.eos_token_id", 2);
    out.kvU32("tokenizer.ggml.unknown_token_id", 0);
    out.kvString("tokenizer.chat_template", CHAT_TEMPLATE);

    long offset = 0;
    for (Tensor t : tensors) {
      out.string(t.name);
      out.u32(t.dims.length);
      for (long d : t.dims) {
        out.u64(d);
      }
      out.u32(0); // F32
      out.u64(offset);
      offset = align(offset + 4L * t.data.length);
    }
    out.pad();
    for (Tensor t : tensors) {
      for (float f : t.data) {
        out.f32(f);
      }
      out.pad();
    }
    return out.toByteArray();
  }

  private static long align(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  private static float[] randoms(Random random, int n, float scale) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) random.nextGaussian() * scale;
    }
    return a;
  }

  private static float[] ones(int n) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, 1f);
    return a;
  }

  private record Tensor(String name, long[] dims, float[] data) {}

  private static final class Out extends ByteArrayOutputStream {
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    void u32(int v) {
      scratch.clear();
      write(scratch.putInt(v).array(), 0, 4);
    }

    void u64(long v) {
      scratch.clear();
      write(scratch.putLong(v).array(), 0, 8);
    }

    void f32(float v) {
      scratch.clear();
      write(scratch.putFloat(v).array(), 0, 4);
    }

    void string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      write(b, 0, b.length);
    }

    void key(String k) {
      string(k);
    }

    void kvString(String k, String v) {
      key(k);
      u32(8);
      string(v);
    }

    void kvU32(String k, int v) {
      key(k);
      u32(4);
      u32(v);
    }

    void kvF32(String k, float v) {
      key(k);
      u32(6);
      f32(v);
    }

    void pad() {
      while (count % ALIGNMENT != 0) {
        write(0);
      }
    }
  }
}
