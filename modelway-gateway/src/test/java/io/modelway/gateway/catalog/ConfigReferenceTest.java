package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The config reference (docs/configuration.md) lists every field the config records declare. */
class ConfigReferenceTest {

  @Test
  void docsListEveryConfigField() throws Exception {
    String docs = Files.readString(Path.of("..", "docs", "configuration.md"));
    List<String> fields = new ArrayList<>();
    collect("", ModelwayConfig.class, fields);
    assertThat(fields).contains("backends.<name>.timeouts.first-byte", "models[].upstream-model");
    for (String field : fields) {
      assertThat(docs).as("docs/configuration.md").contains("| `" + field + "` |");
    }
  }

  private static void collect(String prefix, Class<?> type, List<String> out) {
    for (RecordComponent c : type.getRecordComponents()) {
      String name = prefix + kebab(c.getName());
      Type generic = c.getGenericType();
      if (c.getType().isRecord()) {
        collect(name + ".", c.getType(), out);
      } else if (Map.class.isAssignableFrom(c.getType()) && isRecord(argument(generic, 1))) {
        out.add(name + ".<name>");
        collect(name + ".<name>.", (Class<?>) argument(generic, 1), out);
      } else if (List.class.isAssignableFrom(c.getType()) && isRecord(argument(generic, 0))) {
        collect(name + "[].", (Class<?>) argument(generic, 0), out);
      } else {
        out.add(name);
      }
    }
  }

  private static Type argument(Type type, int index) {
    return ((ParameterizedType) type).getActualTypeArguments()[index];
  }

  private static boolean isRecord(Type type) {
    return type instanceof Class<?> c && c.isRecord();
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
  }
}
