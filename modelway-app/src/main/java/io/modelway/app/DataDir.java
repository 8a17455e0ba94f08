package io.modelway.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** Where Modelway keeps its files: {@code --data-dir}, else {@code ~/.modelway}. */
final class DataDir {
  private DataDir() {}

  static Path orDefault(@Nullable Path given) {
    return given != null ? given : Path.of(System.getProperty("user.home"), ".modelway");
  }

  /** {@link #orDefault}, created if it does not exist yet. */
  static Path created(@Nullable Path given) {
    Path dir = orDefault(given);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data dir " + dir, e);
    }
    return dir;
  }
}
