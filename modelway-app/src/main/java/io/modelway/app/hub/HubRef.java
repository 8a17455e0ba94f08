package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model repository on the hub, {@code owner/name}, and optionally a file in it: the
 * {@code REPO[/FILE]} argument of {@code modelway pull}. Immutable; both parts are checked so that
 * they can name a local path without leaving the directory they are resolved against.
 *
 * @param owner the user or organisation, such as {@code TheBloke}
 * @param name the repository, such as {@code TinyLlama-1.1B-Chat-v1.0-GGUF}
 * @param file a path inside the repository, {@code /}-separated, if one was named
 */
public record HubRef(String owner, String name, Optional<String> file) {
  // The hub's own rule for repo ids: letters, digits, '-', '_', '.'; no "--" or ".."; at most 96;
  // '-' and '.' neither start nor end a part.
  private static final Pattern PART =
      Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?");

  /** Checks the parts; throws {@link IllegalArgumentException} saying what was expected. */
  public HubRef {
    requireNonNull(owner, "owner");
    requireNonNull(name, "name");
    requireNonNull(file, "file");
    checkPart(owner, "owner");
    checkPart(name, "name");
    file.ifPresent(HubRef::checkFilePath);
  }

  /**
   * Reads {@code owner/name} or {@code owner/name/path/to/file}; throws
   * {@link IllegalArgumentException} with a message for the user when it is neither.
   */
  public static HubRef parse(String value) {
    requireNonNull(value, "value");
    String[] parts = value.split("/", 3);
    if (parts.length < 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new IllegalArgumentException("'" + value
          + "' is not a Hugging Face repository (expected: OWNER/NAME or OWNER/NAME/FILE,"
          + " such as TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF)");
    }
    Optional<String> file = parts.length == 3 && !parts[2].isEmpty()
        ? Optional.of(parts[2]) : Optional.empty();
    return new HubRef(parts[0], parts[1], file);
  }

  /** {@code owner/name}, the repo id the hub's URLs use. */
  public String repo() {
    return owner + "/" + name;
  }

  /** The same repository with {@code path} as its file. */
  public HubRef withFile(String path) {
    return new HubRef(owner, name, Optional.of(path));
  }

  @Override
  public String toString() {
    return file.map(f -> repo() + "/" + f).orElse(repo());
  }

  /**
   * Checks a file path inside a repository: {@code /}-separated non-empty parts, none of them
   * {@code .} or {@code ..}, no backslash or control character. Paths from the hub's listing go
   * through this too, so a hostile mirror cannot make a download land outside its directory.
   */
  static String checkFilePath(String path) {
    boolean bad = path.startsWith("/") || path.endsWith("/") || path.indexOf('\\') >= 0
        || path.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
    if (!bad) {
      for (String part : path.split("/", -1)) {
        bad |= part.isEmpty() || part.equals(".") || part.equals("..");
      }
    }
    if (bad) {
      throw new IllegalArgumentException("file: '" + path
          + "' (expected: a path inside the repository, such as model.Q4_K_M.gguf or dir/model.gguf)");
    }
    return path;
  }

  private static void checkPart(String part, String what) {
    if (!PART.matcher(part).matches() || part.contains("--") || part.contains("..")) {
      throw new IllegalArgumentException(what + ": '" + part
          + "' (expected: letters, digits, '-', '_' or '.', at most 96, as in TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF)");
    }
  }
}
