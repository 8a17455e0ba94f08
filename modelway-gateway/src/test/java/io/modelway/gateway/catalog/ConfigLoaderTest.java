package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;

class ConfigLoaderTest {

  private static ModelwayConfig parse(String yaml) {
    return ConfigLoader.parse("test.yaml", yaml.getBytes(StandardCharsets.UTF_8));
  }

  private static void assertRejected(String yaml, String... fragments) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(e.getMessage()).contains(fragments));
  }

  @Test
  void readsAFullConfig() {
    ModelwayConfig config = parse("""
        gateway:
          max-request-body: 2MB
        backends:
          openai:
            url: https://api.openai.com/v1
            api-key-env: OPENAI_API_KEY
            headers:
              X-Title: Modelway
            timeouts:
              connect: 2s
              first-byte: 30s
              total: 5m
          local:
            url: http://127.0.0.1:8000/v1
        models:
          - name: gpt-4o-mini
            backend: openai
          - name: qwen2.5:7b
            backend: local
            upstream-model: Qwen/Qwen2.5-7B-Instruct
        """);
    assertThat(config.gateway().maxRequestBody()).isEqualTo(DataSize.ofMegabytes(2));
    ModelwayConfig.Backend openai = config.backends().get("openai");
    assertThat(openai.url()).isEqualTo(URI.create("https://api.openai.com/v1"));
    assertThat(openai.apiKeyEnv()).isEqualTo("OPENAI_API_KEY");
    assertThat(openai.headers()).containsEntry("X-Title", "Modelway");
    assertThat(openai.timeouts().firstByte()).isEqualTo(Duration.ofSeconds(30));
    ModelwayConfig.Backend local = config.backends().get("local");
    assertThat(local.timeouts().toTimeouts()).isEqualTo(io.modelway.backend.Timeouts.DEFAULT);
    assertThat(local.apiKeyEnv()).isNull();
    assertThat(config.models()).extracting(ModelwayConfig.Model::name)
        .containsExactly("gpt-4o-mini", "qwen2.5:7b");
    assertThat(config.models().get(1).upstreamModelOrName()).isEqualTo("Qwen/Qwen2.5-7B-Instruct");
  }

  @Test
  void emptyFileIsAnEmptyConfig() {
    ModelwayConfig config = parse("# nothing yet\n");
    assertThat(config.backends()).isEmpty();
    assertThat(config.models()).isEmpty();
    assertThat(config.gateway().maxRequestBody()).isEqualTo(DataSize.ofMegabytes(10));
  }

  @Test
  void namesAnUnknownField() {
    assertRejected("""
        backends:
          local:
            url: http://127.0.0.1:8000/v1
            tmeouts:
              connect: 1s
        """, "test.yaml:4: unknown key 'tmeouts' in backends.local (did you mean 'timeouts'?)");
  }

  @Test
  void namesAnUnknownKeyAsWrittenNotItsChildren() {
    assertThatThrownBy(() -> parse("""
        backends:
          sim: {url: http://127.0.0.1:8000/v1}
        modles:
          - {name: chat, backend: sim}
        """))
        .isInstanceOf(ConfigException.class)
        .hasMessage("test.yaml:3: unknown key 'modles' (did you mean 'models'?)");
  }

  @Test
  void namesTheLineAndColumnOfAYamlSyntaxError() {
    assertThatThrownBy(() -> parse("""
        backends:
          sim: {url: http://127.0.0.1:8000/v1}
        models: [
        """))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("test.yaml:4:1: not valid YAML: ");
  }

  @Test
  void namesAFieldThatIsOutOfRange() {
    assertRejected("""
        backends:
          local:
            url: http://127.0.0.1:8000/v1
            timeouts:
              connect: -5s
        """, "backends.local.timeouts.connect: -5s (expected: > 0)");
  }

  @Test
  void readsTheServerEdgesWithTheirDefaults() {
    ModelwayConfig.Server defaults = parse("# nothing yet\n").gateway().server();
    assertThat(defaults).isEqualTo(ModelwayConfig.Server.DEFAULT);
    assertThat(defaults.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(defaults.maxConnections()).isNull();
    ModelwayConfig.Server set = parse("""
        gateway:
          server: {idle-timeout: 5s, request-head-timeout: 2s, max-connections: 100, shutdown-grace: 0s}
        """).gateway().server();
    assertThat(set.idleTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(set.requestHeadTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(set.requestBodyTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(set.maxConnections()).isEqualTo(100);
    assertThat(set.shutdownGrace()).isZero();
    assertRejected("gateway:\n  server: {request-head-timeout: 10ms}\n",
        "server.request-head-timeout: 0.01s (expected: 100ms to 1h)");
    assertRejected("gateway:\n  server: {max-connections: 0}\n",
        "server.max-connections: 0 (expected: 1 to 10000000)");
  }

  @Test
  void namesAValueThatIsNotADuration() {
    assertRejected("""
        backends:
          local:
            url: http://127.0.0.1:8000/v1
            timeouts:
              total: soon
        """, "backends.local.timeouts.total", "'soon'", "duration");
  }

  @Test
  void rejectsAModelOfAnUndefinedBackend() {
    assertRejected("""
        backends:
          local:
            url: http://127.0.0.1:8000/v1
        models:
          - name: m
            backend: remote
        """, "models[0].backend: 'remote'", "[local]");
  }

  @Test
  void rejectsAModelDefinedTwice() {
    assertRejected("""
        backends:
          local: {url: "http://127.0.0.1:8000/v1"}
        models:
          - {name: m, backend: local}
          - {name: m, backend: local}
        """, "models[1].name", "twice");
  }

  @Test
  void rejectsAUrlThatIsNotHttp() {
    assertRejected("""
        backends:
          local: {url: "ftp://127.0.0.1/v1"}
        """, "backends.local.url", "http");
  }

  @Test
  void rejectsYamlThatDoesNotParse() {
    assertRejected("backends: [unclosed\n", "not valid YAML");
  }

  @Test
  void addsCommandLineUpstreamsAndRefusesClashes() {
    ModelwayConfig file = parse("backends:\n  local: {url: \"http://127.0.0.1:8000/v1\"}\n");
    ModelwayConfig merged = ConfigLoader.withUpstreams(
        file, Map.of("openai", URI.create("https://api.openai.com/v1")), Map.of("openai", "OPENAI_API_KEY"));
    assertThat(merged.backends()).containsKeys("local", "openai");
    assertThat(merged.backends().get("openai").apiKeyEnv()).isEqualTo("OPENAI_API_KEY");
    assertThatThrownBy(() -> ConfigLoader.withUpstreams(
        file, Map.of("local", URI.create("http://127.0.0.1:9/v1")), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("--upstream local");
    assertThatThrownBy(() -> ConfigLoader.withUpstreams(file, Map.of(), Map.of("x", "X_KEY")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("--upstream-key x");
  }

  @Test
  void readsAPoolOfWeightedBackendsWithItsRoutingAndHealthChecks() {
    ModelwayConfig config = parse("""
        backends:
          a:
            url: http://127.0.0.1:8001/v1
            health-check: {path: /health, interval: 250ms, timeout: 100ms}
          b:
            url: http://127.0.0.1:8002/v1
        models:
          - name: chat
            backends: [{backend: a, weight: 3}, {backend: b}]
            routing: {policy: prefix-aware, session-header: x-conversation, prefix-cache-tokens: 8192}
          - name: plain
            backend: a
          - name: on-workers
            routing: {policy: consistent-hash}
        """);
    ModelwayConfig.Model chat = config.models().get(0);
    assertThat(chat.pool()).containsExactly(
        new ModelwayConfig.PoolBackend("a", 3), new ModelwayConfig.PoolBackend("b", 1));
    assertThat(chat.routing()).isEqualTo(new ModelwayConfig.Routing(
        ModelwayConfig.Policy.PREFIX_AWARE, "x-conversation", 8192));
    assertThat(config.backends().get("a").healthCheck()).isEqualTo(new ModelwayConfig.HealthCheck(
        "/health", Duration.ofMillis(250), Duration.ofMillis(100)));
    assertThat(config.backends().get("b").healthCheck()).isEqualTo(ModelwayConfig.HealthCheck.DEFAULT);

    ModelwayConfig.Model plain = config.models().get(1);
    assertThat(plain.pool()).containsExactly(new ModelwayConfig.PoolBackend("a", 1));
    assertThat(plain.routing()).isEqualTo(ModelwayConfig.Routing.DEFAULT);
    assertThat(plain.routing().policy().label()).isEqualTo("p2c-ewma");

    assertThat(config.models().get(2).pool()).isEmpty();
    assertThat(config.models().get(2).routing().policy()).isEqualTo(ModelwayConfig.Policy.CONSISTENT_HASH);
  }

  @Test
  void rejectsPoolsThatCannotWork() {
    String backends = """
        backends:
          a: {url: http://127.0.0.1:8001/v1}
          b: {url: http://127.0.0.1:8002/v1}
        """;
    assertRejected(backends + """
        models:
          - {name: chat, backend: a, backends: [{backend: b}]}
        """, "models[0]", "either backend or backends");
    assertRejected(backends + """
        models:
          - {name: chat, backends: [{backend: a}, {backend: c}]}
        """, "models[0].backends[1].backend: 'c'", "expected: one of the backends [a, b]");
    assertRejected(backends + """
        models:
          - {name: chat, backends: [{backend: a}, {backend: a}]}
        """, "'a' is listed twice");
    assertRejected(backends + """
        models:
          - {name: chat, backends: [{backend: a, weight: 0}, {backend: b, weight: 0}]}
        """, "every weight is 0");
    assertRejected(backends + """
        models:
          - {name: chat, backends: [{backend: a, weight: 101}]}
        """, "weight: 101 (expected: 0 to 100)");
    assertRejected(backends + """
        models:
          - {name: chat, backend: a, routing: {policy: random}}
        """, "models[0].routing.policy", "'random'",
        "[round-robin, weighted, least-outstanding, p2c-ewma, consistent-hash, prefix-aware]");
    assertRejected(backends + """
        models:
          - {name: chat, backend: a, routing: {session-header: "x session"}}
        """, "session-header: 'x session'");
    assertRejected("""
        backends:
          a: {url: http://127.0.0.1:8001/v1, health-check: {interval: 1s, timeout: 2s}}
        """, "backends.a.health-check.timeout: 2s (expected: > 0 and <= interval 1s)");
  }

  @Test
  void tellsAnExplicitlyEmptyModelListFromNone() {
    byte[] explicit = "models: []\n".getBytes(StandardCharsets.UTF_8);
    assertThat(ConfigLoader.parse("test.yaml", explicit).models()).isEmpty();
    assertThat(ConfigLoader.declaresModels("test.yaml", explicit)).isTrue();
    assertThat(ConfigLoader.declaresModels("test.yaml",
        "models:\n  - {name: a}\n".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(ConfigLoader.declaresModels("test.yaml",
        "backends: {}\n".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(ConfigLoader.declaresModels("test.yaml", new byte[0])).isFalse();
  }
}
