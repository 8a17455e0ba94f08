package io.modelway.gateway.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Aliases and versions in the config file: how they read, and what is refused. */
class AliasConfigTest {
  private static final String MODELS = """
      backends:
        blue: {url: "http://127.0.0.1:9/v1"}
      models:
        - {name: chat, version: "1", backend: blue}
        - {name: chat, version: "2", backend: blue, upstream-model: chat-next}
        - {name: tiny, backend: blue}
      """;

  private static ModelwayConfig parse(String yaml) {
    return ConfigLoader.parse("test.yaml", yaml.getBytes(StandardCharsets.UTF_8));
  }

  private static void assertRejected(String aliases, String... fragments) {
    assertThatThrownBy(() -> parse(MODELS + aliases))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(e.getMessage()).contains(fragments));
  }

  @Test
  void readsAliasesAndVersions() {
    ModelwayConfig config = parse(MODELS + """
        aliases:
          - name: chat
            targets: [{model: chat@1, weight: 90}, {model: chat@2, weight: 10}]
            sticky: key
          - name: chat-default
            targets: [{model: tiny}]
        """);
    assertThat(config.models()).extracting(ModelwayConfig.Model::id)
        .containsExactly("chat@1", "chat@2", "tiny");
    assertThat(config.models().get(0).upstreamModelOrName()).isEqualTo("chat");
    ModelwayConfig.Alias chat = config.aliases().get(0);
    assertThat(chat.targets()).extracting(ModelwayConfig.Target::weight).containsExactly(90, 10);
    assertThat(chat.sticky()).isEqualTo(ModelwayConfig.Sticky.KEY);
    ModelwayConfig.Alias defaults = config.aliases().get(1);
    assertThat(defaults.targets().get(0).weight()).isEqualTo(1);
    assertThat(defaults.sticky()).isEqualTo(ModelwayConfig.Sticky.NONE);
    assertThat(defaults.sessionHeader()).isEqualTo("x-session-id");
  }

  @Test
  void refusesInvalidAliases() {
    assertRejected("aliases: [{name: tiny, targets: [{model: chat@1}]}]",
        "aliases[0].name: 'tiny' is also a model's name (expected: a name no model has)");
    assertRejected("aliases: [{name: a, targets: [{model: tiny}]}, {name: b, targets: [{model: a}]}]",
        "aliases[1].targets[0].model: 'a' is an alias (expected: a concrete model");
    assertRejected("aliases: [{name: a, targets: [{model: tiny, weight: 0}]}]",
        "aliases[0].targets: every weight is 0 (expected: at least one target with a weight > 0)");
    assertRejected("aliases: [{name: a, targets: [{model: tiny, weight: 1001}]}]",
        "aliases[0].targets[0].weight: 1001 (expected: 0 to 1000)");
    assertRejected("aliases: [{name: a, targets: [{model: tiny}, {model: tiny}]}]",
        "aliases[0].targets[1].model: 'tiny' is listed twice (expected: unique)");
    assertRejected("aliases: [{name: a, targets: []}]", "aliases[0]", "targets: none (expected:");
    assertRejected("aliases: [{name: a, targets: [{model: tiny}]}, {name: a, targets: [{model: tiny}]}]",
        "aliases[1].name: 'a' is defined twice (expected: unique)");
    assertRejected("aliases: [{name: a, targets: [{model: tiny}], sticky: user}]",
        "aliases[0].sticky: cannot read 'user'", "(expected: one of [none, key, session])");
    assertRejected("aliases: [{name: team/a, targets: [{model: tiny}]}]",
        "aliases[0].name: 'team/a' (expected:", "no '/'");
  }

  @Test
  void refusesInvalidVersions() {
    assertThatThrownBy(() -> parse("""
        backends: {blue: {url: "http://127.0.0.1:9/v1"}}
        models: [{name: chat, version: "1", backend: blue}, {name: chat, version: "1", backend: blue}]
        """)).hasMessageContaining("models[1].name: 'chat@1' is defined twice");
    assertThatThrownBy(() -> parse("""
        backends: {blue: {url: "http://127.0.0.1:9/v1"}}
        models: [{name: chat, version: "1 beta", backend: blue}]
        """)).hasMessageContaining("models[0].version: '1 beta' (expected: 1 to 64 letters");
    assertThatThrownBy(() -> parse("""
        backends: {blue: {url: "http://127.0.0.1:9/v1"}}
        models: [{name: chat@1, backend: blue}]
        """)).hasMessageContaining("models[0].name: 'chat@1' (expected: no '@'");
  }
}
