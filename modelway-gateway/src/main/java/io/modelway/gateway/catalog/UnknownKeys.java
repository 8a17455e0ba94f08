package io.modelway.gateway.catalog;

import java.io.StringReader;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Names an unknown config key as the file spells it, with its line: {@code modelway.yaml:3:
 * unknown key 'modles' (did you mean 'models'?)}. Spring's binder reports the leaves under an
 * unknown key ({@code modles[0].name}); this walks each leaf's name along {@link ModelwayConfig}'s
 * records to the first key no record declares, then finds that key in the YAML for its line.
 */
final class UnknownKeys {
  private UnknownKeys() {}

  /** The unknown key that comes first in the file, with its line and a suggestion. */
  static String describe(String source, byte[] yaml, UnboundConfigurationPropertiesException e) {
    List<Node> documents = compose(yaml);
    List<Found> found = new ArrayList<>();
    for (ConfigurationProperty property : e.getUnboundProperties()) {
      found.add(find(property.getName(), documents));
    }
    found.sort(Comparator.comparingInt(Found::line).thenComparing(Found::path));
    Found first = found.get(0);
    long others = found.stream().map(Found::path).distinct().count() - 1;
    StringBuilder line = new StringBuilder(source);
    if (first.line() > 0) {
      line.append(':').append(first.line());
    }
    line.append(": unknown key '").append(first.key()).append('\'');
    if (!first.parent().isEmpty()) {
      line.append(" in ").append(first.parent());
    }
    first.suggestion().ifPresent(s -> line.append(" (did you mean '").append(s).append("'?)"));
    if (others > 0) {
      line.append(" (and ").append(others).append(" more)");
    }
    return line.toString();
  }

  /**
   * @param key the key as written in the file
   * @param parent where it is, as a config path ({@code backends.local}); empty at the top
   * @param path the unknown key's full config path, for sorting and counting
   * @param line its 1-based line, 0 when it was not found in the YAML
   */
  private record Found(String key, String parent, String path, int line,
      Optional<String> suggestion) {}

  private static Found find(ConfigurationPropertyName name, List<Node> documents) {
    Type type = ModelwayConfig.class;
    int unknownAt = name.getNumberOfElements() - 1;
    List<String> known = List.of();
    for (int i = 0; i < name.getNumberOfElements(); i++) {
      String element = name.getElement(i, Form.UNIFORM);
      Type next = child(type, element);
      if (next == null) {
        unknownAt = i;
        known = fields(type);
        break;
      }
      type = next;
    }
    ConfigurationPropertyName parent = name.chop(unknownAt);
    String written = name.getElement(unknownAt, Form.ORIGINAL);
    int line = 0;
    for (Node document : documents) {
      Optional<ScalarNode> key = keyNode(document, name, unknownAt);
      if (key.isPresent()) {
        written = key.get().getValue();
        line = key.get().getStartMark().getLine() + 1;
        break;
      }
    }
    String asWritten = written;
    Optional<String> suggestion = known.stream()
        .filter(k -> distance(k, asWritten.toLowerCase(Locale.ROOT)) <= 2)
        .min(Comparator.comparingInt(k -> distance(k, asWritten.toLowerCase(Locale.ROOT))));
    return new Found(written, parent.toString(), name.chop(unknownAt + 1).toString(), line,
        suggestion);
  }

  /** The type under {@code element} of {@code type}; null when {@code type} has no such key. */
  private static @Nullable Type child(Type type, String element) {
    Class<?> raw = raw(type);
    if (raw.isRecord()) {
      for (RecordComponent component : raw.getRecordComponents()) {
        if (component.getName().toLowerCase(Locale.ROOT).equals(element)) {
          return component.getGenericType();
        }
      }
      return null;
    }
    if (type instanceof ParameterizedType generic) {
      Type[] arguments = generic.getActualTypeArguments();
      if (Map.class.isAssignableFrom(raw)) {
        return arguments[1];
      }
      if (List.class.isAssignableFrom(raw) || Optional.class.isAssignableFrom(raw)) {
        return arguments[0];
      }
    }
    return null;
  }

  private static List<String> fields(Type type) {
    Class<?> raw = raw(type);
    if (!raw.isRecord()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (RecordComponent component : raw.getRecordComponents()) {
      names.add(component.getName().replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT));
    }
    return names;
  }

  private static Class<?> raw(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p && p.getRawType() instanceof Class<?> c) {
      return c;
    }
    return Object.class;
  }

  /** The key node of element {@code last} of {@code name} in {@code node}, if the path is there. */
  private static Optional<ScalarNode> keyNode(Node node, ConfigurationPropertyName name, int last) {
    Node at = node;
    for (int i = 0; i <= last; i++) {
      String element = name.getElement(i, Form.UNIFORM);
      if (at instanceof SequenceNode sequence && name.isNumericIndex(i)) {
        int index = Integer.parseInt(element);
        if (index >= sequence.getValue().size()) {
          return Optional.empty();
        }
        at = sequence.getValue().get(index);
      } else if (at instanceof MappingNode mapping) {
        NodeTuple match = null;
        for (NodeTuple tuple : mapping.getValue()) {
          if (tuple.getKeyNode() instanceof ScalarNode key && uniform(key.getValue()).equals(element)) {
            match = tuple;
            break;
          }
        }
        if (match == null) {
          return Optional.empty();
        }
        if (i == last) {
          return Optional.of((ScalarNode) match.getKeyNode());
        }
        at = match.getValueNode();
      } else {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private static String uniform(String key) {
    ConfigurationPropertyName adapted = ConfigurationPropertyName.adapt(key, '\0');
    return adapted.isEmpty() ? key : adapted.getElement(0, Form.UNIFORM);
  }

  private static List<Node> compose(byte[] yaml) {
    List<Node> documents = new ArrayList<>();
    try {
      new Yaml(new LoaderOptions())
          .composeAll(new StringReader(new String(yaml, StandardCharsets.UTF_8)))
          .forEach(documents::add);
    } catch (RuntimeException e) {
      // It parsed for the binder; without the nodes the key is named without its line.
    }
    return documents;
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
