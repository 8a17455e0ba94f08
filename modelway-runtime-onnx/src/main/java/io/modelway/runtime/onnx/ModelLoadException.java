package io.modelway.runtime.onnx;

/** An embedding model that could not be loaded; the message names the model and the reason. */
public final class ModelLoadException extends RuntimeException {
  ModelLoadException(String model, String reason, Throwable cause) {
    super("Cannot load embedding model " + model + ": " + reason, cause);
  }
}
