package io.modelway.app;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** The version of this build, from the properties file Maven fills in. */
final class Version implements CommandLine.IVersionProvider {

  static String current() {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      return "unknown";
    }
    return p.getProperty("version", "unknown");
  }

  @Override
  public String[] getVersion() {
    return new String[] {"modelway " + current() + " (Java " + Runtime.version() + ")"};
  }

  /** {@code modelway version}. */
  @CommandLine.Command(name = "version", description = "Print the version and exit.",
      footer = {"", "Example:", "  modelway version"})
  static final class Command implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      spec.commandLine().getOut().println(new Version().getVersion()[0]);
      return 0;
    }
  }
}
