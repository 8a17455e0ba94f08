package io.modelway.runtime.llama;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * What Modelway reads of a GGUF file itself, before llama.cpp sees it: the metadata it needs
 * (whether the tokenizer adds BOS, the chat template) and a structural check — magic, version,
 * every tensor's data inside the file — so that a corrupt or truncated file fails with a reason
 * instead of llama.cpp's bare "could not load model".
 *
 * <p>Follows the GGUF specification (ggml's {@code docs/gguf.md}), versions 2 and 3.
 *
 * @param quantization the file type ({@code general.file_type}, such as {@code Q4_K_M}), else
 *     the ggml type holding most of the tensor bytes, such as {@code F32}
 * @param contextLength the context the model was trained with ({@code <arch>.context_length})
 */
public record GgufHeader(
    String architecture,
    boolean addBos,
    Optional<String> chatTemplate,
    long fileSize,
    String quantization,
    OptionalLong contextLength) {
  private static final int MAGIC = 0x46554747; // "GGUF" read little-endian
  private static final int STRING = 8;
  private static final int ARRAY = 9;
  private static final long MAX_COUNT = 1L << 24;
  /** ggml type id to {block size in elements, bytes per block}; types not listed are not checked. */
  private static final Map<Integer, int[]> TYPE_SIZES = Map.ofEntries(
      Map.entry(0, new int[] {1, 4}), Map.entry(1, new int[] {1, 2}),
      Map.entry(2, new int[] {32, 18}), Map.entry(3, new int[] {32, 20}),
      Map.entry(6, new int[] {32, 22}), Map.entry(7, new int[] {32, 24}),
      Map.entry(8, new int[] {32, 34}), Map.entry(9, new int[] {32, 36}),
      Map.entry(10, new int[] {256, 84}), Map.entry(11, new int[] {256, 110}),
      Map.entry(12, new int[] {256, 144}), Map.entry(13, new int[] {256, 176}),
      Map.entry(14, new int[] {256, 210}), Map.entry(15, new int[] {256, 292}),
      Map.entry(24, new int[] {1, 1}), Map.entry(25, new int[] {1, 2}),
      Map.entry(26, new int[] {1, 4}), Map.entry(27, new int[] {1, 8}),
      Map.entry(28, new int[] {1, 8}), Map.entry(30, new int[] {1, 2}));

  /**
   * Reads and checks {@code file}.
   *
   * @throws ModelLoadException naming the file and what is wrong with it
   */
  public static GgufHeader read(Path file) {
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new ModelLoadException(file, "cannot read the file (" + e + ")", e);
    }
    try (Reader in = new Reader(new BufferedInputStream(Files.newInputStream(file), 1 << 16), size)) {
      return read(in, file, size);
    } catch (EOFException e) {
      throw new ModelLoadException(file, "truncated GGUF header (file has " + size + " bytes)");
    } catch (IOException e) {
      throw new ModelLoadException(file, "cannot read the file (" + e + ")", e);
    }
  }

  private static GgufHeader read(Reader in, Path file, long size) throws IOException {
    if (size < 24 || in.u32() != MAGIC) {
      throw new ModelLoadException(file, "not a GGUF file (no GGUF magic at the start)");
    }
    int version = in.u32();
    if (version != 2 && version != 3) {
      throw new ModelLoadException(file, "GGUF version " + version + " (expected: 2 or 3)");
    }
    long tensorCount = in.count(file, "tensor count");
    long kvCount = in.count(file, "metadata count");
    String architecture = null;
    Boolean addBos = null;
    String template = null;
    long alignment = 32;
    Long fileType = null;
    Map<String, Long> contextLengths = new HashMap<>();
    for (long i = 0; i < kvCount; i++) {
      String key = in.string(file);
      int type = in.u32();
      if ((key.equals("general.file_type") || key.endsWith(".context_length")) && isInteger(type)) {
        long value = in.integer(type);
        if (key.equals("general.file_type")) {
          fileType = value;
        } else {
          contextLengths.put(key.substring(0, key.length() - ".context_length".length()), value);
        }
        continue;
      }
      switch (key) {
        case "general.architecture" -> architecture = in.expectString(file, key, type);
        case "tokenizer.chat_template" -> template = in.expectString(file, key, type);
        case "tokenizer.ggml.add_bos_token" -> {
          if (type != 7) {
            throw new ModelLoadException(file, key + " has type " + type + " (expected: bool)");
          }
          addBos = in.u8() != 0;
        }
        case "general.alignment" -> {
          if (type != 4) {
            throw new ModelLoadException(file, key + " has type " + type + " (expected: uint32)");
          }
          alignment = Integer.toUnsignedLong(in.u32());
          if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
            throw new ModelLoadException(file, key + ": " + alignment + " (expected: a power of 2)");
          }
        }
        default -> in.skipValue(file, type);
      }
    }
    if (architecture == null) {
      throw new ModelLoadException(file, "no general.architecture in the GGUF metadata");
    }
    Map<Integer, Long> bytesByType = new HashMap<>();
    long[][] extents = new long[(int) tensorCount][];
    String[] names = new String[(int) tensorCount];
    for (int t = 0; t < tensorCount; t++) {
      names[t] = in.string(file);
      int dims = in.u32();
      if (dims < 1 || dims > 4) {
        throw new ModelLoadException(file, "tensor '" + names[t] + "' has " + dims + " dimensions");
      }
      long elements = 1;
      for (int d = 0; d < dims; d++) {
        long n = in.u64();
        if (n < 0 || n > size) {
          throw new ModelLoadException(file, "tensor '" + names[t] + "' has dimension " + n);
        }
        elements = Math.multiplyExact(elements, n);
      }
      int ggmlType = in.u32();
      int[] typeSize = TYPE_SIZES.get(ggmlType);
      long offset = in.u64();
      long bytes = typeSize == null ? 0 : elements / typeSize[0] * typeSize[1];
      bytesByType.merge(ggmlType, Math.max(bytes, elements), Long::sum);
      extents[t] = new long[] {offset, bytes};
    }
    long dataStart = (in.position() + alignment - 1) / alignment * alignment;
    for (int t = 0; t < tensorCount; t++) {
      long end = dataStart + extents[t][0] + extents[t][1];
      if (extents[t][0] < 0 || end > size) {
        throw new ModelLoadException(file, "truncated: tensor '" + names[t] + "' ends at byte "
            + end + " but the file has " + size + " bytes");
      }
    }
    // llama.cpp's default for SentencePiece ("llama") vocabularies; GGUF files usually say.
    String quantization = fileType != null && FILE_TYPES.containsKey(fileType.intValue())
        ? FILE_TYPES.get(fileType.intValue())
        : bytesByType.entrySet().stream().max(Map.Entry.comparingByValue())
            .map(e -> GGML_TYPES.getOrDefault(e.getKey(), "type " + e.getKey()))
            .orElse("unknown");
    Long context = contextLengths.get(architecture);
    return new GgufHeader(architecture, addBos == null || addBos, Optional.ofNullable(template),
        size, quantization, context == null ? OptionalLong.empty() : OptionalLong.of(context));
  }

  private static boolean isInteger(int type) {
    return type == 4 || type == 5 || type == 10 || type == 11;
  }

  /** llama.cpp's {@code llama_ftype} names, as {@code general.file_type} numbers them. */
  private static final Map<Integer, String> FILE_TYPES = Map.ofEntries(
      Map.entry(0, "F32"), Map.entry(1, "F16"), Map.entry(2, "Q4_0"), Map.entry(3, "Q4_1"),
      Map.entry(7, "Q8_0"), Map.entry(8, "Q5_0"), Map.entry(9, "Q5_1"), Map.entry(10, "Q2_K"),
      Map.entry(11, "Q3_K_S"), Map.entry(12, "Q3_K_M"), Map.entry(13, "Q3_K_L"),
      Map.entry(14, "Q4_K_S"), Map.entry(15, "Q4_K_M"), Map.entry(16, "Q5_K_S"),
      Map.entry(17, "Q5_K_M"), Map.entry(18, "Q6_K"), Map.entry(19, "IQ2_XXS"),
      Map.entry(20, "IQ2_XS"), Map.entry(21, "Q2_K_S"), Map.entry(22, "IQ3_XS"),
      Map.entry(23, "IQ3_XXS"), Map.entry(24, "IQ1_S"), Map.entry(25, "IQ4_NL"),
      Map.entry(26, "IQ3_S"), Map.entry(27, "IQ3_M"), Map.entry(28, "IQ2_S"), Map.entry(29, "IQ2_M"),
      Map.entry(30, "IQ4_XS"), Map.entry(31, "IQ1_M"), Map.entry(32, "BF16"));

  /** ggml tensor type names by id. */
  private static final Map<Integer, String> GGML_TYPES = Map.ofEntries(
      Map.entry(0, "F32"), Map.entry(1, "F16"), Map.entry(2, "Q4_0"), Map.entry(3, "Q4_1"),
      Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(8, "Q8_0"), Map.entry(9, "Q8_1"),
      Map.entry(10, "Q2_K"), Map.entry(11, "Q3_K"), Map.entry(12, "Q4_K"), Map.entry(13, "Q5_K"),
      Map.entry(14, "Q6_K"), Map.entry(15, "Q8_K"), Map.entry(30, "BF16"));

  private static final class Reader implements AutoCloseable {
    private final InputStream in;
    private final long size;
    private final byte[] buf = new byte[8];
    private long position;

    Reader(InputStream in, long size) {
      this.in = in;
      this.size = size;
    }

    long position() {
      return position;
    }

    private void fill(byte[] b, int n) throws IOException {
      int read = in.readNBytes(b, 0, n);
      position += read;
      if (read < n) {
        throw new EOFException();
      }
    }

    int u8() throws IOException {
      fill(buf, 1);
      return buf[0] & 0xff;
    }

    int u32() throws IOException {
      fill(buf, 4);
      return (buf[0] & 0xff) | (buf[1] & 0xff) << 8 | (buf[2] & 0xff) << 16 | (buf[3] & 0xff) << 24;
    }

    long integer(int type) throws IOException {
      return switch (type) {
        case 4 -> Integer.toUnsignedLong(u32());
        case 5 -> u32();
        default -> u64();
      };
    }

    long u64() throws IOException {
      long lo = Integer.toUnsignedLong(u32());
      long hi = Integer.toUnsignedLong(u32());
      return hi << 32 | lo;
    }

    long count(Path file, String what) throws IOException {
      long n = u64();
      if (n < 0 || n > MAX_COUNT) {
        throw new ModelLoadException(file, what + " " + Long.toUnsignedString(n) + " is implausible");
      }
      return n;
    }

    String string(Path file) throws IOException {
      long n = u64();
      if (n < 0 || n > size - position) {
        throw new ModelLoadException(file, "string of " + Long.toUnsignedString(n)
            + " bytes at offset " + position + " runs past the end of the file");
      }
      byte[] b = new byte[(int) n];
      fill(b, b.length);
      return new String(b, StandardCharsets.UTF_8);
    }

    @Nullable String expectString(Path file, String key, int type) throws IOException {
      if (type != STRING) {
        throw new ModelLoadException(file, key + " has type " + type + " (expected: string)");
      }
      return string(file);
    }

    void skipValue(Path file, int type) throws IOException {
      if (type == STRING) {
        skip(file, u64());
      } else if (type == ARRAY) {
        int elementType = u32();
        long n = count(file, "array length");
        if (elementType == STRING) {
          for (long i = 0; i < n; i++) {
            skip(file, u64());
          }
        } else {
          skip(file, Math.multiplyExact(n, scalarSize(file, elementType)));
        }
      } else {
        skip(file, scalarSize(file, type));
      }
    }

    private static int scalarSize(Path file, int type) {
      return switch (type) {
        case 0, 1, 7 -> 1;
        case 2, 3 -> 2;
        case 4, 5, 6 -> 4;
        case 10, 11, 12 -> 8;
        default -> throw new ModelLoadException(file, "unknown GGUF value type " + type);
      };
    }

    private void skip(Path file, long n) throws IOException {
      if (n < 0 || n > size - position) {
        throw new ModelLoadException(file, "value of " + Long.toUnsignedString(n)
            + " bytes at offset " + position + " runs past the end of the file");
      }
      in.skipNBytes(n);
      position += n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
