package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Decides when a file that is being written has settled: the same size, modification time and
 * content in every look over {@code settle}. An editor that truncates the file and then writes
 * it, or writes it in pieces, leaves it half-written for a moment; applying the file only once it
 * settled turns such a burst into one reload of the finished file (a pause longer than {@code
 * settle} mid-write is not covered: {@link LiveCatalog} refuses what it can recognise as cut
 * short, and docs/configuration.md asks for write-then-rename). Not thread-safe: one watcher looks.
 */
final class Settling {
  /**
   * What one look at the file saw.
   *
   * @param size in bytes, -1 when the file is missing
   * @param modified its modification time in nanoseconds since the epoch
   * @param content its bytes, empty when missing
   */
  record Look(long size, long modified, byte[] content) {
    static final Look MISSING = new Look(-1, 0, new byte[0]);

    /** Looks at {@code file}: its attributes, then its bytes. */
    static Look at(Path file) throws IOException {
      try {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        return new Look(attributes.size(),
            attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
            Files.readAllBytes(file));
      } catch (NoSuchFileException e) {
        return MISSING;
      }
    }

    boolean missing() {
      return size < 0;
    }

    boolean sameAs(Look other) {
      return size == other.size && modified == other.modified
          && Arrays.equals(content, other.content);
    }
  }

  private final long settleNanos;
  private @Nullable Look last;
  private long since;

  /** @param settle how long the file must stay the same */
  Settling(Duration settle) {
    this.settleNanos = requireNonNull(settle, "settle").toNanos();
  }

  /**
   * Takes one look at the file, at {@code nanos} of a monotonic clock.
   *
   * @return the look, once the file has looked the same since at least {@code settle} ago
   */
  Optional<Look> observe(Look look, long nanos) {
    requireNonNull(look, "look");
    if (last == null || !last.sameAs(look)) {
      last = look;
      since = nanos;
      return Optional.empty();
    }
    return nanos - since >= settleNanos ? Optional.of(look) : Optional.empty();
  }
}
