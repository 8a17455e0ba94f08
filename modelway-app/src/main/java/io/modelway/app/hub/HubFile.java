package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A file in a hub repository as the hub describes it. Immutable.
 *
 * @param path the path inside the repository
 * @param size its size in bytes
 * @param sha256 its SHA-256 in lower-case hex, which the hub knows for files stored in Git LFS
 *     (every GGUF on huggingface.co); empty for small files kept in Git itself
 * @param url where to download it: the hub's {@code resolve} URL, pinned to a commit when the
 *     hub named one
 */
public record HubFile(String path, long size, Optional<String> sha256, URI url) {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  /** Checks the fields; throws {@link IllegalArgumentException} saying what was expected. */
  public HubFile {
    requireNonNull(path, "path");
    requireNonNull(sha256, "sha256");
    requireNonNull(url, "url");
    HubRef.checkFilePath(path);
    if (size < 0) {
      throw new IllegalArgumentException("size: " + size + " (expected: >= 0)");
    }
    sha256.ifPresent(s -> {
      if (!SHA256.matcher(s).matches()) {
        throw new IllegalArgumentException("sha256: '" + s + "' (expected: 64 lower-case hex digits)");
      }
    });
  }

  /** The SHA-256 in {@code value} if it is one (an LFS object id), ignoring case and quotes. */
  static Optional<String> sha256In(String value) {
    String v = value.trim();
    if (v.startsWith("W/")) {
      v = v.substring(2);
    }
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      v = v.substring(1, v.length() - 1);
    }
    v = v.toLowerCase(java.util.Locale.ROOT);
    return SHA256.matcher(v).matches() ? Optional.of(v) : Optional.empty();
  }

  /** The last part of the path: the file's name. */
  public String fileName() {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
