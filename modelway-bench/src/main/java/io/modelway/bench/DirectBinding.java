package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import io.modelway.runtime.llama.GgufHeader;
import io.modelway.runtime.llama.LlamaOptions;
import java.nio.file.Path;

/**
 * The baseline: a GGUF model loaded in this JVM through llama.cpp's Java binding with the model
 * parameters {@code LlamaCppBackend} uses (slots, context, threads, Jinja templates, engine log
 * off), generating with the inference parameters it derives from the benchmark's requests
 * ({@code n_predict}, {@code cache_prompt}, temperature 0). Prompts are templated once, up front:
 * what is timed is the engine and the binding only. Thread-safe (llama.cpp queues the calls onto
 * its slots).
 */
final class DirectBinding implements Generator, AutoCloseable {
  private final LlamaModel model;
  private final String[] prompts;
  private final int tokens;

  /**
   * Loads {@code file}; blocks until it is in memory.
   *
   * @param tokens completion tokens per call ({@code n_predict})
   * @throws IllegalArgumentException when a prompt plus {@code tokens} does not fit one slot's
   *     share of the context (the API would then cap {@code max_tokens} and generate fewer)
   */
  DirectBinding(Path file, LlamaOptions options, Prompts prompts, int tokens) {
    requireNonNull(file, "file");
    requireNonNull(options, "options");
    requireNonNull(prompts, "prompts");
    this.tokens = tokens;
    boolean addBos = GgufHeader.read(file).addBos();
    LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
    this.model = new LlamaModel(new ModelParameters()
        .setModel(file.toString())
        .setParallel(options.slots())
        .setCtxSize(options.contextSize())
        .setThreads(options.threads())
        .enableJinja()
        .disableLog());
    LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { }); // loading installs llama.cpp's own again
    this.prompts = new String[prompts.clients()];
    int perSlot = options.contextSize() / options.slots();
    for (int client = 0; client < this.prompts.length; client++) {
      String prompt = model.applyTemplate(prompts.templateInput(client));
      int promptTokens = model.encode(prompt).length + (addBos ? 1 : 0);
      if (promptTokens + tokens > perSlot) {
        model.close();
        throw new IllegalArgumentException("client " + client + "'s prompt has " + promptTokens
            + " tokens: with " + tokens + " to generate it needs " + (promptTokens + tokens)
            + " of a slot's " + perSlot + " (context size / slots); raise the context size");
      }
      this.prompts[client] = prompt;
    }
  }

  /** The loaded model, for {@link PumpedBinding}. */
  LlamaModel model() {
    return model;
  }

  /** Client {@code client}'s prompt as the chat template renders it. */
  String prompt(int client) {
    return prompts[client];
  }

  /**
   * Counts results as {@code LlamaCppBackend} does: one per token, the engine's closing result
   * excluded.
   */
  @Override
  public Completion generate(int client, boolean keepText) {
    InferenceParameters params = new InferenceParameters(prompts[client])
        .setNPredict(tokens)
        .setCachePrompt(true)
        .setTemperature(0f);
    StringBuilder text = new StringBuilder();
    int results = 0;
    LlamaIterator it = model.generate(params).iterator();
    while (it.hasNext()) {
      LlamaOutput out = it.next();
      if (it.hasNext()) {
        results++;
      }
      text.append(out.text);
    }
    return new Completion(results, keepText ? text.toString() : "");
  }

  @Override
  public void close() {
    model.close();
  }
}
