package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.modelway.backend.ConnectionPools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
