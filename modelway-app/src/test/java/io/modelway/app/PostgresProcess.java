package io.modelway.app;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private PostgreSQL server as a real process: its own data directory in a fresh temporary
 * directory and its own port, so the machine's PostgreSQL (127.0.0.1:5432) is never touched. It
 * can be stopped the hard way and started again on the same data and port. Run as the
 * {@code postgres} OS user when the tests run as root, which {@code initdb} refuses; through
 * {@code setpriv}, which execs the server in place ({@code runuser} would fork and wait, and
 * killing it would leave the server running). Closing it stops the server and deletes its files.
 */
final class PostgresProcess implements AutoCloseable {
  private static final Path VERSIONS = Path.of("/usr/lib/postgresql");

  private final Path bin;
  private final Path base;
  private final Path data;
  private final Path log;
  private final int port;
  private Process server;

  private PostgresProcess(Path bin, Path base, int port) {
    this.bin = bin;
    this.base = base;
    this.data = base.resolve("data");
    this.log = base.resolve("postgres.log");
    this.port = port;
  }

  /**
   * A new cluster (trust authentication, superuser {@code postgres}), started on a free port.
   *
   * @throws IllegalStateException when no PostgreSQL server binaries are installed
   */
  static PostgresProcess start() throws IOException, InterruptedException {
    Path bin = binaries();
    // Not under a JUnit @TempDir: that one is root's, mode 700, and the server could not reach it.
    Path base = Files.createTempDirectory("modelway-pg");
    PostgresProcess postgres = new PostgresProcess(bin, base, ModelwayProcess.freePort());
    try {
      if (runsAsRoot()) {
        UserPrincipalLookupService users = base.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(base, users.lookupPrincipalByName("postgres"));
      }
      postgres.run("initdb", "-D", postgres.data.toString(), "-A", "trust", "-U", "postgres",
          "--no-sync");
      postgres.startServer();
      return postgres;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      postgres.close();
      throw e;
    }
  }

  /** The newest {@code /usr/lib/postgresql/N/bin} (Debian's layout). */
  private static Path binaries() throws IOException {
    if (Files.isDirectory(VERSIONS)) {
      try (Stream<Path> versions = Files.list(VERSIONS)) {
        Optional<Path> newest = versions.filter(v -> Files.isExecutable(v.resolve("bin/postgres"))
                && Files.isExecutable(v.resolve("bin/initdb")))
            .filter(v -> v.getFileName().toString().matches("\\d+"))
            .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())));
        if (newest.isPresent()) {
          return newest.get().resolve("bin");
        }
      }
    }
    throw new IllegalStateException("No PostgreSQL server binaries in " + VERSIONS
        + "/N/bin (initdb, pg_ctl, postgres): install them (Debian: apt-get install postgresql)");
  }

  private static boolean runsAsRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private List<String> command(String program, String... args) {
    List<String> command = new ArrayList<>();
    if (runsAsRoot()) {
      command.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
          "--"));
    }
    command.add(bin.resolve(program).toString());
    command.addAll(List.of(args));
    return command;
  }

  /** Runs a PostgreSQL tool to its end; its output goes to the log. */
  private void run(String program, String... args) throws IOException, InterruptedException {
    Process tool = new ProcessBuilder(command(program, args)).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!tool.waitFor(1, TimeUnit.MINUTES)) {
      tool.destroyForcibly().waitFor();
      throw new IllegalStateException(program + " did not finish within a minute\n" + output());
    }
    if (tool.exitValue() != 0) {
      throw new IllegalStateException(program + " exited with " + tool.exitValue() + "\n"
          + output());
    }
  }

  /** Starts the server again on the same data and port, after {@link #stopHard()}. */
  void startAgain() throws IOException {
    startServer();
  }

  /** Starts the server; returns once it accepts connections. */
  private void startServer() throws IOException {
    server = new ProcessBuilder(command("postgres", "-D", data.toString(), "-p",
            Integer.toString(port), "-k", data.toString(), "-c", "listen_addresses=127.0.0.1"))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      if (!server.isAlive()) {
        throw new IllegalStateException("postgres exited with " + server.exitValue() + "\n"
            + output());
      }
      try (Connection ignored = connect()) {
        return true;
      } catch (SQLException e) {
        return false;
      }
    });
  }

  /**
   * Stops the server at once, as a crash would ({@code pg_ctl stop -m immediate}: its clients'
   * connections are cut, nothing is flushed, the next start runs crash recovery).
   */
  void stopHard() throws IOException, InterruptedException {
    run("pg_ctl", "stop", "-D", data.toString(), "-m", "immediate", "-w");
    server.waitFor();
  }

  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl() + "?user=postgres&connectTimeout=5");
  }

  String output() {
    try {
      return "----- postgres -----\n" + (Files.exists(log) ? Files.readString(log) : "");
    } catch (IOException e) {
      return "----- postgres: no output (" + e + ")";
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    try {
      if (server != null && server.isAlive()) {
        try {
          stopHard();
        } finally {
          if (!server.waitFor(10, TimeUnit.SECONDS)) {
            server.destroyForcibly().waitFor();
          }
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(base)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> {
          try {
            Files.deleteIfExists(p);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      }
    }
  }
}
