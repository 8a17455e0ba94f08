package io.modelway.runtime.llama;

import java.nio.file.Path;

/** A model file that could not be loaded; the message names the file and the reason. */
public final class ModelLoadException extends RuntimeException {
  ModelLoadException(Path file, String reason) {
    super("Cannot load model " + file + ": " + reason);
  }

  ModelLoadException(Path file, String reason, Throwable cause) {
    super("Cannot load model " + file + ": " + reason, cause);
  }
}
