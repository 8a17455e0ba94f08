package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The catalog in force, and the watcher that replaces it when the config file changes.
 *
 * <p>A change is read, validated and built completely before it is swapped in with one atomic
 * write, so a request sees either the old catalog or the new one, and requests already running
 * finish on the backends they started with. A change that fails validation is logged with the
 * field it names and leaves the old catalog in force. Watching uses the file system's change
 * events on the file's directory (so editors that replace the file, and Kubernetes ConfigMap
 * symlink swaps, are seen), on one daemon thread.
 */
public final class LiveCatalog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LiveCatalog.class);

  /**
   * Where the catalog stands.
   *
   * @param version 1 for the config read at start, +1 for each change applied
   * @param appliedAt when the current version was applied
   * @param lastError why the latest change was rejected, if it was
   */
  public record Status(
      Optional<Path> file, long version, Instant appliedAt, int models, Optional<String> lastError) {}

  private record State(Catalog catalog, byte[] source, Status status) {}

  private final @Nullable Path file;
  private final Function<ModelwayConfig, Catalog> assemble;
  private final Clock clock;
  private final AtomicReference<State> state = new AtomicReference<>();
  private @Nullable WatchService watcher;

  /**
   * Reads the config and builds the first catalog.
   *
   * @param file the YAML config file; none means an empty config
   * @param assemble turns a parsed config into a catalog (merging command-line backends)
   * @throws ConfigException when the config at start is invalid: start-up fails loudly
   */
  public LiveCatalog(
      @Nullable Path file, Function<ModelwayConfig, Catalog> assemble, Clock clock) {
    this.file = file;
    this.assemble = requireNonNull(assemble, "assemble");
    this.clock = requireNonNull(clock, "clock");
    byte[] source = read();
    Catalog catalog = build(source);
    state.set(new State(catalog, source,
        new Status(Optional.ofNullable(file), 1, clock.instant(), catalog.models().size(), Optional.empty())));
  }

  public Catalog current() {
    return state.get().catalog();
  }

  public Status status() {
    return state.get().status();
  }

  /**
   * Reads the file again and applies it if it changed and is valid.
   *
   * @return whether a new catalog is now in force
   */
  public synchronized boolean reload() {
    State old = state.get();
    byte[] source;
    Catalog catalog;
    try {
      source = read();
      if (Arrays.equals(source, old.source())) {
        return false;
      }
      catalog = build(source);
    } catch (ConfigException e) {
      log.error("Config change rejected, the previous config stays in force: {}", e.getMessage());
      Status s = old.status();
      state.set(new State(old.catalog(), old.source(),
          new Status(s.file(), s.version(), s.appliedAt(), s.models(), Optional.of(e.getMessage()))));
      return false;
    }
    Status s = old.status();
    state.set(new State(catalog, source, new Status(
        s.file(), s.version() + 1, clock.instant(), catalog.models().size(), Optional.empty())));
    log.info("Config reloaded from {}: {} models, {} backends (version {})",
        file, catalog.models().size(), catalog.backends().size(), s.version() + 1);
    return true;
  }

  /** Starts watching the file, if there is one. Idempotent. */
  public synchronized void watch() {
    if (file == null || watcher != null) {
      return;
    }
    Path dir = file.toAbsolutePath().getParent();
    try {
      WatchService service = dir.getFileSystem().newWatchService();
      dir.register(service, StandardWatchEventKinds.ENTRY_CREATE,
          StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
      watcher = service;
      Thread thread = new Thread(() -> loop(service), "modelway-config-watcher");
      thread.setDaemon(true);
      thread.start();
      log.info("Watching {} for changes", file);
    } catch (IOException e) {
      log.warn("Cannot watch {} for changes ({}); restart to apply edits", file, e.toString());
    }
  }

  private void loop(WatchService service) {
    try {
      while (true) {
        WatchKey key = service.take();
        // Let a burst of events (write, truncate, rename) settle into one reload.
        do {
          key.pollEvents();
          key.reset();
          key = service.poll(50, TimeUnit.MILLISECONDS);
        } while (key != null);
        reload();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("Config watcher stopped; restart to apply edits", e);
    }
  }

  private byte[] read() {
    if (file == null) {
      return new byte[0];
    }
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read (" + e + ")");
    }
  }

  private Catalog build(byte[] source) {
    try {
      ModelwayConfig config = source.length == 0
          ? ModelwayConfig.empty()
          : ConfigLoader.parse(String.valueOf(file), source);
      return assemble.apply(config);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(file + ": " + e.getMessage());
    }
  }

  @Override
  public synchronized void close() {
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        log.debug("closing the config watcher", e);
      }
      watcher = null;
    }
  }
}
