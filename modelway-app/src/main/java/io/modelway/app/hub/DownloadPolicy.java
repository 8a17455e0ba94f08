package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How hard one download tries. Immutable.
 *
 * @param attempts transfers tried in one run before giving up (keeping the partial file for the
 *     next run); each resumes from the bytes already on disk
 * @param retryDelay the pause before another attempt
 * @param stallTimeout a transfer that receives no byte for this long counts as broken
 */
public record DownloadPolicy(int attempts, Duration retryDelay, Duration stallTimeout) {

  /**
   * Five attempts one second apart, as {@code huggingface_hub} resumes a broken transfer; a
   * transfer stalled for 30 seconds is broken.
   */
  public static final DownloadPolicy DEFAULT =
      new DownloadPolicy(5, Duration.ofSeconds(1), Duration.ofSeconds(30));

  /** Checks the fields; throws {@link IllegalArgumentException} saying what was expected. */
  public DownloadPolicy {
    requireNonNull(retryDelay, "retryDelay");
    requireNonNull(stallTimeout, "stallTimeout");
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts: " + attempts + " (expected: >= 1)");
    }
    if (retryDelay.isNegative()) {
      throw new IllegalArgumentException("retryDelay: " + retryDelay + " (expected: >= 0)");
    }
    if (stallTimeout.isNegative() || stallTimeout.isZero()) {
      throw new IllegalArgumentException("stallTimeout: " + stallTimeout + " (expected: > 0)");
    }
  }
}
