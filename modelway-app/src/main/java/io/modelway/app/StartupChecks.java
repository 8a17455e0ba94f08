package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.catalog.ConfigException;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.ConfigLoader;
import io.modelway.gateway.catalog.ModelwayConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * What a server command checks before anything slow starts (models loading, Spring, Flyway, the
 * store): the config (file, upstreams, API key variables), that no other Modelway holds the data
 * dir, and that the port is free.
 * Each check that fails throws a {@link Refusal} whose message is the one line the user sees.
 */
final class StartupChecks {
  private StartupChecks() {}

  /** A start-up refused; the message is one line, without the {@code modelway: } prefix. */
  static final class Refusal extends RuntimeException {
    Refusal(String message, Throwable cause) {
      super(message, cause);
    }

    Refusal(String message) {
      super(message);
    }
  }

  /**
   * Runs every check for {@code options} and returns the data dir's lock (held until closed;
   * none for a worker, which keeps no store).
   *
   * @throws Refusal naming the first check that failed
   */
  static Optional<DataDirLock> run(GatewayOptions options) {
    config(options);
    Optional<DataDirLock> lock = options.role().hostsRegistry()
        ? Optional.of(DataDirLock.acquire(options.dataDir()))
        : Optional.empty();
    try {
      port(options.host(), options.port());
    } catch (Refusal e) {
      lock.ifPresent(DataDirLock::close);
      throw e;
    }
    return lock;
  }

  /**
   * The config file parses and binds, the command line's upstreams merge with it, and every
   * backend's API key variable is set: all that the catalog needs at start but the HTTP clients.
   */
  static void config(GatewayOptions options) {
    ModelwayConfig config = options.configFile().map(StartupChecks::parse)
        .orElse(ModelwayConfig.empty());
    try {
      ModelwayConfig merged = ConfigLoader.withUpstreams(config, options.upstreams(),
          options.upstreamKeys());
      Catalog.requireApiKeys(merged, options.environment());
    } catch (ConfigException | IllegalArgumentException e) {
      throw new Refusal("invalid config: " + e.getMessage(), e);
    }
  }

  private static ModelwayConfig parse(Path file) {
    byte[] yaml;
    try {
      yaml = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new Refusal("cannot read the config file " + file + " (" + e.getMessage() + ")", e);
    }
    if (yaml.length == 0) {
      return ModelwayConfig.empty();
    }
    try {
      return ConfigLoader.parse(file.toString(), yaml);
    } catch (ConfigException | IllegalArgumentException e) {
      throw new Refusal("invalid config: " + e.getMessage(), e);
    }
  }

  /**
   * Binds {@code host:port} and lets go at once, as the server will bind it (address reuse on,
   * so connections of a server that just stopped do not count). Port 0 is always free.
   */
  static void port(String host, int port) {
    if (port == 0) {
      return;
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(host, port));
    } catch (java.net.BindException e) {
      if (String.valueOf(e.getMessage()).contains("in use")) {
        throw new Refusal("port " + port + " is in use; stop what holds it or pass --port N", e);
      }
      throw new Refusal("cannot listen on " + host + ":" + port + " (" + e.getMessage()
          + "); pass --host ADDRESS", e);
    } catch (IOException | IllegalArgumentException | SecurityException e) {
      throw new Refusal("cannot listen on " + host + ":" + port + " (" + e.getMessage()
          + "); pass --host ADDRESS", e);
    }
  }

  /**
   * An exclusive lock on {@code DIR/.lock}, which holds the pid of the process that has it: one
   * Modelway per data dir, said plainly rather than with H2's advice about its server mode. The
   * operating system lets go of it when the process ends, killed or not.
   */
  static final class DataDirLock implements AutoCloseable {
    static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
      this.channel = channel;
      this.lock = lock;
    }

    /** @throws Refusal when another process (or this one) holds it */
    static DataDirLock acquire(Path dir) {
      Path file = dir.resolve(FILE);
      FileChannel channel;
      try {
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
      } catch (IOException e) {
        throw new Refusal("cannot open " + file + " (" + e.getMessage() + ")", e);
      }
      try {
        FileLock lock;
        try {
          lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
          lock = null;
        }
        if (lock == null) {
          String holder = holder(channel).map(pid -> " (pid " + pid + ")").orElse("");
          channel.close();
          throw new Refusal("the data dir " + dir.toAbsolutePath() + " is in use by another Modelway"
              + holder + "; stop it or pass --data-dir");
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n")
            .getBytes(StandardCharsets.US_ASCII)), 0);
        channel.force(false);
        return new DataDirLock(channel, lock);
      } catch (IOException e) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // the lock goes with the channel
        }
        throw new Refusal("cannot lock " + file + " (" + e.getMessage() + ")", e);
      }
    }

    private static Optional<String> holder(FileChannel channel) throws IOException {
      ByteBuffer buffer = ByteBuffer.allocate(32);
      channel.read(buffer, 0);
      String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
      return pid.matches("\\d+") ? Optional.of(pid) : Optional.empty();
    }

    @Override
    public void close() {
      try {
        lock.release();
        channel.close();
      } catch (IOException e) {
        // closing the channel releases the lock in any case
      }
    }
  }
}
