package io.modelway.bench;

import java.io.IOException;

/** One way of generating a completion for a client's prompt. Implementations are thread-safe. */
interface Generator {
  /**
   * Generates the completion of client {@code client}'s prompt; blocks until it is complete.
   *
   * @param keepText whether to return the text; when false an implementation may skip the work of
   *     assembling it (the timed rounds do), and returns an empty text
   * @throws IOException when the answer is not a complete, successful completion
   */
  Completion generate(int client, boolean keepText) throws IOException, InterruptedException;
}
