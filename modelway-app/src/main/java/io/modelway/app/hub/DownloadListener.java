package io.modelway.app.hub;

/**
 * What a download reports while it runs, on the downloading thread, in this order: perhaps
 * {@link #checking}, then {@link #started}, {@link #progressed} many times, perhaps
 * {@link #retrying} or {@link #restarted} (after which {@code progressed} goes on), and
 * {@link #finished} once the bytes are complete. Sizes are in bytes. Every method does nothing
 * by default.
 */
public interface DownloadListener {

  /** Bytes already on disk are being hashed before the transfer resumes after them. */
  default void checking(long bytes) {}

  /** The transfer of a file of {@code size} bytes begins with {@code done} already on disk. */
  default void started(long size, long done) {}

  /** {@code done} bytes of the file are on disk. */
  default void progressed(long done) {}

  /**
   * A transfer broke after {@code done} bytes were on disk; attempt {@code attempt} of
   * {@code attempts} follows, resuming from there.
   */
  default void retrying(String reason, long done, int attempt, int attempts) {}

  /** The bytes on disk were discarded and the transfer starts again from the first byte. */
  default void restarted(String reason) {}

  /** All {@code size} bytes are on disk. */
  default void finished(long size) {}

  /** A listener that ignores everything. */
  static DownloadListener none() {
    return new DownloadListener() {};
  }
}
