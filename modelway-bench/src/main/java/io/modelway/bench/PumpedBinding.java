package io.modelway.bench;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An experiment, not the baseline: the binding driven the way {@code LlamaCppBackend} could drive
 * it, by one receiver thread per model instead of one blocked thread per call. Callers submit
 * their generation and park (in Java, off the CPU); the receiver takes the next result of every
 * running generation in turn. The slots advance in lockstep, one token each per decode step, so
 * the turn order matches the order results come out.
 *
 * <p>Why: llama.cpp's result queue wakes every waiting thread whenever any result is queued, and a
 * thread that finds none of its own waits again at once, so with one thread per call the waiters
 * spin while other calls' results are pending (see bench/README.md). Thread-safe.
 */
final class PumpedBinding implements Generator, AutoCloseable {
  private record Call(LlamaIterator results, CompletableFuture<Integer> done) {}

  private final DirectBinding binding;
  private final int tokens;
  private final LinkedBlockingQueue<Call> submitted = new LinkedBlockingQueue<>();
  private final Thread receiver;

  PumpedBinding(DirectBinding binding, int tokens) {
    this.binding = requireNonNull(binding, "binding");
    this.tokens = tokens;
    this.receiver = new Thread(this::receive, "llama-receiver");
    receiver.setDaemon(true);
    receiver.start();
  }

  /** Counts tokens as {@link DirectBinding} does; never keeps the text. */
  @Override
  public Completion generate(int client, boolean keepText) throws IOException, InterruptedException {
    InferenceParameters params = new InferenceParameters(binding.prompt(client))
        .setNPredict(tokens)
        .setCachePrompt(true)
        .setTemperature(0f);
    Call call = new Call(binding.model().generate(params).iterator(), new CompletableFuture<>());
    submitted.add(call);
    try {
      return new Completion(call.done().get(), "");
    } catch (ExecutionException e) {
      throw new IOException("generation failed", e.getCause());
    }
  }

  private void receive() {
    List<Call> running = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    try {
      while (!Thread.currentThread().isInterrupted()) {
        if (running.isEmpty()) {
          running.add(submitted.take());
          counts.add(0);
        }
        for (Call c; (c = submitted.poll()) != null; ) {
          running.add(c);
          counts.add(0);
        }
        Iterator<Call> calls = running.iterator();
        for (int i = 0; calls.hasNext(); ) {
          Call call = calls.next();
          try {
            if (call.results().hasNext()) {
              call.results().next();
              counts.set(i, counts.get(i) + 1);
              i++;
              continue;
            }
            // As DirectBinding counts: every result but the engine's closing one.
            call.done().complete(Math.max(0, counts.get(i) - 1));
          } catch (RuntimeException e) {
            call.done().completeExceptionally(e);
          }
          calls.remove();
          counts.remove(i);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    receiver.interrupt();
  }
}
