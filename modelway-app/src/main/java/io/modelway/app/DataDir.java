package io.modelway.app;

import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** Where Modelway keeps its files: {@code --data-dir}, else {@code ~/.modelway}. */
final class DataDir {
  private DataDir() {}

  static Path orDefault(@Nullable Path given) {
    return given != null ? given : Path.of(System.getProperty("user.home"), ".modelway");
  }
}
