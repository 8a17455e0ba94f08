package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.convert.ConversionFailedException;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads the YAML config file into a {@link ModelwayConfig} with Spring Boot's binder (so durations
 * read as {@code 5s}, sizes as {@code 10MB}, keys in kebab-case), refusing unknown fields, and
 * merges the backends given on the command line.
 */
public final class ConfigLoader {
  private static final Pattern LEADING_FIELD = Pattern.compile("^[a-z][a-z0-9-]*(\\[\\d+])?[.:].*", Pattern.DOTALL);

  private ConfigLoader() {}

  /**
   * Parses one config file.
   *
   * @throws ConfigException naming the offending field, when the file is not a valid config
   */
  public static ModelwayConfig parse(String source, byte[] yaml) {
    requireNonNull(source, "source");
    List<PropertySource<?>> documents = load(source, yaml);
    Binder binder = new Binder(ConfigurationPropertySources.from(documents));
    try {
      return binder.bindOrCreate(ConfigurationPropertyName.EMPTY,
          Bindable.of(ModelwayConfig.class), new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
    } catch (BindException e) {
      if (rootCause(e) instanceof UnboundConfigurationPropertiesException unbound) {
        throw new ConfigException(UnknownKeys.describe(source, yaml, unbound));
      }
      throw new ConfigException(source + ": " + describe(e));
    }
  }

  /**
   * Whether the file names the field {@code models} at all, as {@code models: []} does, rather
   * than leaving it out (an empty file, or one cut short before its models). A hot reload takes
   * an explicit {@code models: []} as meaning "serve no models"; see {@link LiveCatalog}.
   *
   * @throws ConfigException when the file is not valid YAML
   */
  public static boolean declaresModels(String source, byte[] yaml) {
    requireNonNull(source, "source");
    for (PropertySource<?> document : load(source, yaml)) {
      if (document instanceof EnumerablePropertySource<?> names) {
        for (String name : names.getPropertyNames()) {
          if (name.equals("models") || name.startsWith("models[")) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static List<PropertySource<?>> load(String source, byte[] yaml) {
    try {
      return new YamlPropertySourceLoader().load(source, new ByteArrayResource(yaml));
    } catch (IOException | RuntimeException e) {
      for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
        if (t instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
          Mark at = marked.getProblemMark();
          throw new ConfigException(source + ":" + (at.getLine() + 1) + ":" + (at.getColumn() + 1)
              + ": not valid YAML: " + marked.getProblem());
        }
      }
      throw new ConfigException(source + ": not valid YAML: " + firstLine(e.getMessage()));
    }
  }

  /**
   * {@code config} with the backends given as {@code --upstream NAME=URL}, whose keys come from
   * {@code --upstream-key NAME=ENV_VAR}.
   *
   * @throws ConfigException when a name is used by both, or a key names no upstream
   */
  public static ModelwayConfig withUpstreams(
      ModelwayConfig config, Map<String, URI> upstreams, Map<String, String> upstreamKeys) {
    for (String name : upstreamKeys.keySet()) {
      if (!upstreams.containsKey(name)) {
        throw new ConfigException("--upstream-key " + name + ": no --upstream named '" + name + "'");
      }
    }
    if (upstreams.isEmpty()) {
      return config;
    }
    Map<String, ModelwayConfig.Backend> backends = new HashMap<>(config.backends());
    for (Map.Entry<String, URI> upstream : upstreams.entrySet()) {
      String name = upstream.getKey();
      if (backends.containsKey(name)) {
        throw new ConfigException("--upstream " + name
            + ": a backend of that name is also in the config file (expected: one definition)");
      }
      try {
        backends.put(name, ModelwayConfig.Backend.of(upstream.getValue(), upstreamKeys.get(name),
            Map.of(), ModelwayConfig.BackendTimeouts.DEFAULT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("--upstream " + name + ": " + e.getMessage());
      }
    }
    return config.withBackends(backends);
  }

  private static String describe(BindException e) {
    String name = e.getName().toString();
    Throwable cause = rootCause(e);
    String prefix = name.isEmpty() ? "" : name;
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof ConversionFailedException) {
        cause = t; // its root cause ("No enum constant …") would name the Java type, not the value
        break;
      }
    }
    if (cause instanceof ConversionFailedException conversion) {
      ConfigurationProperty property = e.getProperty();
      Object value = property == null ? conversion.getValue() : property.getValue();
      return prefix + ": cannot read '" + value + "' as "
          + conversion.getTargetType().getType().getSimpleName()
          + expectedFormat(conversion.getTargetType().getType());
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    if (cause instanceof NullPointerException) {
      message = message + ": missing";
    }
    if (prefix.isEmpty()) {
      return message;
    }
    return LEADING_FIELD.matcher(message).matches() ? prefix + "." + message : prefix + ": " + message;
  }

  private static String expectedFormat(Class<?> type) {
    if (type == java.time.Duration.class) {
      return " (expected: a duration such as 500ms, 5s, 10m)";
    }
    if (type == org.springframework.util.unit.DataSize.class) {
      return " (expected: a size such as 512KB, 10MB)";
    }
    if (type == URI.class) {
      return " (expected: a URL)";
    }
    if (type == ModelwayConfig.Policy.class) {
      return " (expected: one of " + java.util.Arrays.stream(ModelwayConfig.Policy.values())
          .map(ModelwayConfig.Policy::label).toList() + ")";
    }
    if (type == ModelwayConfig.Sticky.class) {
      return " (expected: one of " + java.util.Arrays.stream(ModelwayConfig.Sticky.values())
          .map(ModelwayConfig.Sticky::label).toList() + ")";
    }
    return "";
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
