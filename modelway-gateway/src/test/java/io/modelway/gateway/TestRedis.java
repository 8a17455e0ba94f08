package io.modelway.gateway;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} process of a test's own, on a free port, without persistence: killed
 * and restarted on the same port to test outages.
 */
public final class TestRedis implements AutoCloseable {
  private final int port;
  private final Path dir;
  private Process process;

  private TestRedis(int port, Path dir) {
    this.port = port;
    this.dir = dir;
    this.process = launch();
  }

  /** Starts one and returns once it accepts connections. */
  public static TestRedis start() {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return new TestRedis(port, Files.createTempDirectory("modelway-redis"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Kills it as a crash would (SIGKILL), and waits until it is gone. */
  public void kill() {
    try {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Starts it again on the same port, empty. */
  public void restart() {
    process = launch();
  }

  private Process launch() {
    try {
      Process started = new ProcessBuilder("redis-server", "--port", Integer.toString(port),
          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString())
          .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        try (Socket s = new Socket("127.0.0.1", port)) {
          return true;
        } catch (IOException e) {
          return false;
        }
      });
      return started;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    kill();
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temp dir left behind is no failure of the test
    }
  }
}
