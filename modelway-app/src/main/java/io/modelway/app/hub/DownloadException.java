package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A download did not complete: the transfer kept breaking, the bytes did not match the hub's
 * SHA-256 or size, or the file could not be written. The message is for the user.
 * {@link #partial()} names the {@code .incomplete} file kept for the next run to resume from,
 * if one was kept.
 */
public final class DownloadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Optional<Path> partial;

  /** A failure that kept {@code partial} (if present) for the next run to resume from. */
  public DownloadException(String message, Optional<Path> partial, Throwable cause) {
    super(requireNonNull(message, "message"), cause);
    this.partial = requireNonNull(partial, "partial");
  }

  /** A failure that left nothing to resume from. */
  public DownloadException(String message) {
    super(requireNonNull(message, "message"));
    this.partial = Optional.empty();
  }

  /** The {@code .incomplete} file kept for the next run, if one was kept. */
  public Optional<Path> partial() {
    return partial;
  }
}
