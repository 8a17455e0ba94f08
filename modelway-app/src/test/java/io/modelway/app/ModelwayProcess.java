package io.modelway.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code modelway} run as a real process (this test class path, so no jar is needed), its output
 * in a file the test prints when it fails.
 */
final class ModelwayProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private ModelwayProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  static ModelwayProcess start(String name, Path dir, Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        // The binary's logging, not a test jar's logback-test.xml: the tests read what users read.
        "-Dlogback.configurationFile=logback.xml", "-Dlogging.config=classpath:logback.xml",
        "-cp", System.getProperty("java.class.path"),
        Modelway.class.getName()));
    command.addAll(List.of(args));
    Path log = dir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().remove("MODELWAY_CLUSTER_SECRET");
    builder.environment().remove("MODELWAY_ADMIN_KEY");
    builder.environment().putAll(env);
    try {
      return new ModelwayProcess(name, builder.start(), log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A port that was free a moment ago. */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SIGKILL: the process gets no chance to deregister or clean up. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /** SIGTERM, as a container runtime or {@code kill} sends it; does not wait. */
  void terminate() {
    process.destroy();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Its exit status once it has exited by itself, within {@code timeout}. */
  int awaitExit(java.time.Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " still runs after " + timeout + "\n" + output());
    }
    return process.exitValue();
  }

  long pid() {
    return process.pid();
  }

  /** What it printed so far, line by line, standard output and error together. */
  List<String> lines() {
    try {
      return Files.readAllLines(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String output() {
    try {
      return "----- " + name + " -----\n" + Files.readString(log);
    } catch (IOException e) {
      return "----- " + name + ": no output (" + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
