package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * A file that is on disk as the hub has it. Immutable.
 *
 * @param path where it is
 * @param size its size in bytes
 * @param upToDate whether it was already there, so nothing was downloaded
 * @param verified whether its SHA-256 was checked against the hub's (false only for files the
 *     hub gives no SHA-256 for, whose size alone was checked)
 */
public record DownloadResult(Path path, long size, boolean upToDate, boolean verified) {
  /** Checks the fields. */
  public DownloadResult {
    requireNonNull(path, "path");
  }
}
