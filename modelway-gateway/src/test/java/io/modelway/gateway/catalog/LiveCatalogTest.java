package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.modelway.backend.ConnectionPools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

@ExtendWith(OutputCaptureExtension.class)
class LiveCatalogTest {
  private static final ConnectionPools CONNECTIONS = ConnectionPools.create(4);
  private static final String ONE_MODEL = """
      backends:
        local: {url: "http://127.0.0.1:8000/v1"}
      models:
        - {name: a, backend: local}
      """;

  @TempDir Path dir;

  @AfterAll
  static void closeConnections() {
    CONNECTIONS.close();
  }

  private LiveCatalog open(Path file, Map<String, String> env) {
    return new LiveCatalog(file, config -> Catalog.build(config, env::get,
        CONNECTIONS.clients()), Clock.systemUTC());
  }

  private LiveCatalog open(Path file, Duration settle) {
    return new LiveCatalog(file, config -> Catalog.build(config, name -> null,
        CONNECTIONS.clients()), Clock.systemUTC(), settle);
  }

  @Test
  void appliesAValidChange() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Catalog before = catalog.current();
      Files.writeString(file, ONE_MODEL + "  - {name: b, backend: local}\n");
      assertThat(catalog.reload()).isTrue();
      assertThat(catalog.current().models()).containsExactly("a", "b");
      assertThat(catalog.status().version()).isEqualTo(2);
      assertThat(before.models()).containsExactly("a");
    }
  }

  @Test
  void keepsTheOldConfigWhenTheChangeIsInvalid() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Files.writeString(file, ONE_MODEL + "  - {name: b, backend: nowhere}\n");
      assertThat(catalog.reload()).isFalse();
      assertThat(catalog.current().models()).containsExactly("a");
      assertThat(catalog.status().version()).isEqualTo(1);
      assertThat(catalog.status().lastError()).hasValueSatisfying(
          e -> assertThat(e).contains("models[1].backend", "nowhere"));

      Files.writeString(file, ONE_MODEL + "  - {name: c, backend: local}\n");
      assertThat(catalog.reload()).isTrue();
      assertThat(catalog.status().lastError()).isEmpty();
    }
  }

  @Test
  void aMissingApiKeyVariableIsAConfigError() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, "backends:\n  cloud: {url: \"https://example.test/v1\", api-key-env: CLOUD_KEY}\n");
    assertThatThrownBy(() -> open(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("backends.cloud.api-key-env", "CLOUD_KEY");
    try (LiveCatalog catalog = open(file, Map.of("CLOUD_KEY", "sk-1"))) {
      assertThat(catalog.current().resolve("cloud/gpt-4o")).isPresent();
    }
  }

  @Test
  void seesTheFileReplacedOnDisk() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      catalog.watch();
      Path next = dir.resolve("next.tmp");
      Files.writeString(next, ONE_MODEL + "  - {name: z, backend: local}\n");
      Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      await().atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(catalog.current().models()).containsExactly("a", "z"));
    }
  }

  @Test
  void refusesAnEmptyFileWhileModelsAreServed(CapturedOutput output) throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Files.writeString(file, "");
      assertThat(catalog.reload()).isFalse();
      assertThat(catalog.current().models()).containsExactly("a");
      assertThat(catalog.status().version()).isEqualTo(1);
      assertThat(catalog.status().lastError()).hasValueSatisfying(
          e -> assertThat(e).contains("the file is empty", "models: []"));
      assertThat(output.getAll()).contains("WARN", "Config change refused",
          "write 'models: []'", "rename it over");

      Files.writeString(file, ONE_MODEL);
      assertThat(catalog.reload()).as("the config in force again: nothing to apply").isFalse();
      assertThat(catalog.status().lastError()).as("nor anything refused any more").isEmpty();
    }
  }

  @Test
  void refusesAFileCutShortBeforeItsModels() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Files.writeString(file, "backends:\n  local: {url: \"http://127.0.0.1:8000/v1\"}\n");
      assertThat(catalog.reload()).isFalse();
      assertThat(catalog.current().models()).containsExactly("a");
      assertThat(catalog.status().lastError()).hasValueSatisfying(
          e -> assertThat(e).contains("no models while the config in force serves 1 model"));
    }
  }

  @Test
  void keepsTheOldConfigWhenTheFileIsCutShortMidLine() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Files.writeString(file, ONE_MODEL + "  - {name: b, back");
      assertThat(catalog.reload()).isFalse();
      assertThat(catalog.current().models()).containsExactly("a");
      assertThat(catalog.status().lastError()).hasValueSatisfying(
          e -> assertThat(e).contains("not valid YAML"));
    }
  }

  @Test
  void appliesAnExplicitlyEmptyModelList() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    try (LiveCatalog catalog = open(file, Map.of())) {
      Files.writeString(file, "backends:\n  local: {url: \"http://127.0.0.1:8000/v1\"}\n"
          + "models: []\n");
      assertThat(catalog.reload()).isTrue();
      assertThat(catalog.current().models()).isEmpty();
      assertThat(catalog.current().backends()).containsExactly("local");

      Files.writeString(file, "");
      assertThat(catalog.reload()).as("no models served: nothing to protect").isTrue();
      assertThat(catalog.current().backends()).isEmpty();
    }
  }

  @Test
  void appliesATruncateThenWriteOnceTheFileSettled() throws Exception {
    Path file = dir.resolve("modelway.yaml");
    Files.writeString(file, ONE_MODEL);
    // A settle time far longer than the editor's pause, so the pause always falls within it.
    try (LiveCatalog catalog = open(file, Duration.ofSeconds(2))) {
      catalog.watch();
      // The editor truncates the file and writes its first part (a valid config by itself)…
      Files.writeString(file, ONE_MODEL + "  - {name: b, backend: local}\n");
      Thread.sleep(100); // …pauses (the scenario, not a wait for a result)…
      Files.writeString(file, "  - {name: c, backend: local}\n", StandardOpenOption.APPEND);
      await().atMost(Duration.ofSeconds(15)).untilAsserted(
          () -> assertThat(catalog.current().models()).containsExactly("a", "b", "c"));
      assertThat(catalog.status().version()).as("one reload, of the finished file").isEqualTo(2);
    }
  }
}
