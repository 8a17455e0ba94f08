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
import java.time.Duration;
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
 * events on the file's directory (so editors that replace the file, a rename of a new file over
 * it, and Kubernetes ConfigMap symlink swaps are seen), on one daemon thread.
 *
 * <p>Half-written files: after a change event the watcher waits until the file has stayed the
 * same (size, modification time and content) for {@link #SETTLE}, looking every {@link
 * #LOOK_EVERY}, so an editor's truncate-then-write is read once, finished. A file that then
 * names no models while the catalog in force serves some is refused (kept out, with a WARN line
 * saying how to force it): an empty file, or one cut short before its {@code models}, would
 * otherwise turn every call into a 404. A file that says {@code models: []} means it and is
 * applied. Replacing the file by writing a temporary file in the same directory and renaming it
 * over the config file avoids half-written files altogether.
 */
public final class LiveCatalog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LiveCatalog.class);

  /** How long the file must stay the same after a change before it is read and applied. */
  static final Duration SETTLE = Duration.ofMillis(300);

  /** How often a changed file is looked at while it settles. */
  static final Duration LOOK_EVERY = Duration.ofMillis(50);

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
  private final Duration settle;
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
    this(file, assemble, clock, SETTLE);
  }

  /** {@link #LiveCatalog(Path, Function, Clock)} with another settle time, for tests. */
  LiveCatalog(@Nullable Path file, Function<ModelwayConfig, Catalog> assemble, Clock clock,
      Duration settle) {
    this.settle = requireNonNull(settle, "settle");
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
   * Reads the file again and applies it if it changed and is valid (and, when the catalog in
   * force serves models, names some or says {@code models: []}).
   *
   * @return whether a new catalog is now in force
   */
  public synchronized boolean reload() {
    byte[] source;
    try {
      source = read();
    } catch (ConfigException e) {
      return refuse(e.getMessage(), false);
    }
    return apply(source);
  }

  private boolean apply(byte[] source) {
    State old = state.get();
    if (Arrays.equals(source, old.source())) {
      if (old.status().lastError().isPresent()) { // back to the config in force: nothing refused
        state.set(new State(old.catalog(), old.source(), withError(old.status(), Optional.empty())));
      }
      return false;
    }
    Catalog catalog;
    try {
      catalog = build(source);
    } catch (ConfigException e) {
      return refuse(e.getMessage(), false);
    }
    int serving = old.catalog().config().models().size();
    if (catalog.config().models().isEmpty() && serving > 0 && !declaresModels(source)) {
      return refuse(file + ": " + (source.length == 0 ? "the file is empty" : "no models")
          + " while the config in force serves " + serving + (serving == 1 ? " model" : " models")
          + "; an empty file or one cut short mid-write would make every call a 404 (expected:"
          + " models; to serve none, write 'models: []')", true);
    }
    Status s = old.status();
    state.set(new State(catalog, source, new Status(
        s.file(), s.version() + 1, clock.instant(), catalog.models().size(), Optional.empty())));
    log.info("Config reloaded from {}: {} models, {} backends (version {})",
        file, catalog.models().size(), catalog.backends().size(), s.version() + 1);
    return true;
  }

  private boolean declaresModels(byte[] source) {
    return source.length > 0 && ConfigLoader.declaresModels(String.valueOf(file), source);
  }

  private boolean refuse(String reason, boolean modelless) {
    State old = state.get();
    if (modelless) {
      log.warn("Config change refused, the previous config stays in force: {}. To replace the"
          + " file safely, write a temporary file in its directory and rename it over {}", reason,
          file);
    } else {
      log.error("Config change rejected, the previous config stays in force: {}", reason);
    }
    state.set(new State(old.catalog(), old.source(), withError(old.status(), Optional.of(reason))));
    return false;
  }

  private static Status withError(Status s, Optional<String> error) {
    return new Status(s.file(), s.version(), s.appliedAt(), s.models(), error);
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
      Thread thread = new Thread(() -> loop(service, file), "modelway-config-watcher");
      thread.setDaemon(true);
      thread.start();
      log.info("Watching {} for changes", file);
    } catch (IOException e) {
      log.warn("Cannot watch {} for changes ({}); restart to apply edits", file, e.toString());
    }
  }

  /**
   * On each change event in the file's directory: waits for the file to settle, then applies
   * what it settled to. Events that come while it settles are taken in the same wait (the file
   * is looked at afresh each time), so a burst of them makes one reload.
   */
  private void loop(WatchService service, Path file) {
    try {
      while (true) {
        drain(service.take());
        Settling settling = new Settling(settle);
        Optional<Settling.Look> settled = Optional.empty();
        while (settled.isEmpty()) {
          WatchKey more = service.poll(LOOK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
          if (more != null) {
            drain(more);
          }
          settled = settling.observe(look(file), System.nanoTime());
        }
        Settling.Look look = settled.get();
        synchronized (this) {
          if (look.missing()) {
            refuse(file + ": cannot read (missing or unreadable)", false);
          } else {
            apply(look.content());
          }
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("Config watcher stopped; restart to apply edits", e);
    }
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
  }

  private static Settling.Look look(Path file) {
    try {
      return Settling.Look.at(file);
    } catch (IOException e) {
      return Settling.Look.MISSING; // unreadable for now: refused, as missing, if it stays so
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
