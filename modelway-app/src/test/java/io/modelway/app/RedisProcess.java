package io.modelway.app;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private Redis as a real process ({@code redis-server} on the PATH): its own port and
 * directory, nothing saved to disk. Closing it stops the server and deletes its files.
 */
final class RedisProcess implements AutoCloseable {
  private final Process server;
  private final Path dir;
  private final int port;

  private RedisProcess(Process server, Path dir, int port) {
    this.server = server;
    this.dir = dir;
    this.port = port;
  }

  /** A server on a free port; returns once it accepts connections. */
  static RedisProcess start() throws IOException {
    Path dir = Files.createTempDirectory("modelway-redis");
    int port = ModelwayProcess.freePort();
    Process server = new ProcessBuilder("redis-server", "--port", Integer.toString(port),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    RedisProcess redis = new RedisProcess(server, dir, port);
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        if (!server.isAlive()) {
          throw new IllegalStateException("redis-server exited with " + server.exitValue()
              + "\n" + redis.output());
        }
        try (Socket ignored = new Socket("127.0.0.1", port)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      });
      return redis;
    } catch (RuntimeException | Error e) {
      redis.close();
      throw e;
    }
  }

  /** {@code redis://127.0.0.1:PORT}, as {@code --redis-url} takes it. */
  String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** The string value of {@code key}, read with {@code redis-cli}; empty when it has none. */
  Optional<String> get(String key) throws IOException, InterruptedException {
    Process cli = new ProcessBuilder("redis-cli", "-p", Integer.toString(port), "--raw", "GET",
        key).redirectErrorStream(true).start();
    String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!cli.waitFor(10, TimeUnit.SECONDS) || cli.exitValue() != 0) {
      cli.destroyForcibly();
      throw new IllegalStateException("redis-cli GET " + key + " failed: " + out);
    }
    return out.isEmpty() ? Optional.empty() : Optional.of(out);
  }

  String output() {
    try {
      return "----- redis -----\n" + Files.readString(dir.resolve("redis.log"));
    } catch (IOException e) {
      return "----- redis: no output (" + e + ")";
    }
  }

  @Override
  public void close() {
    try {
      server.destroy();
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      server.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> {
          try {
            Files.deleteIfExists(p);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
