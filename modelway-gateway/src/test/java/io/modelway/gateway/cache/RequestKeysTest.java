package io.modelway.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.catalog.ModelwayConfig.CacheMode;
import io.modelway.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestKeysTest {

  private static Optional<CacheKey> key(CacheMode mode, String namespace, String json,
      boolean deterministic) {
    return RequestKeys.of(mode, namespace, "chat", "gpt-4o", Endpoint.CHAT_COMPLETIONS,
        json.getBytes(StandardCharsets.UTF_8), deterministic);
  }

  private static String hash(String json) {
    return key(CacheMode.ALWAYS, "acme", json, true).orElseThrow().hash();
  }

  @Test
  void onlyDeterministicRequestsAreKeyedInDeterministicMode() {
    String json = "{\"messages\":[],\"temperature\":0}";
    assertThat(key(CacheMode.DETERMINISTIC, "acme", json, false)).isEmpty();
    assertThat(key(CacheMode.DETERMINISTIC, "acme", json, true)).isPresent();
    assertThat(key(CacheMode.ALWAYS, "acme", json, false)).isPresent();
    assertThat(key(CacheMode.OFF, "acme", json, true)).isEmpty();
  }

  @Test
  void theKeyIgnoresFieldOrderNumberSpellingAndDeliveryFields() {
    String base = hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}");
    assertThat(hash("{\"temperature\":0.0,\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}]}"))
        .isEqualTo(base);
    assertThat(hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0,"
        + "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"u1\","
        + "\"model\":\"whatever\"}")).isEqualTo(base);
  }

  @Test
  void numbersBeyondADoubleAreKeyedByTheirExactValue() {
    // Each was a 500: a double's infinity has no decimal value.
    assertThat(hash("{\"a\":1e400}")).isEqualTo(hash("{\"a\":10E399}"))
        .isNotEqualTo(hash("{\"a\":1e401}"));
    assertThat(hash("{\"a\":1e999999999}")).isNotEqualTo(hash("{\"a\":-1e-999999999}"));
    // Digits past a double's precision are not lost.
    assertThat(hash("{\"a\":0.10000000000000000001}")).isNotEqualTo(hash("{\"a\":0.1}"));
    assertThat(RequestKeys.canonical(new java.math.BigDecimal("1.500"))).isEqualTo("1.5");
    assertThat(RequestKeys.canonical(new java.math.BigDecimal("1e999999999")))
        .isEqualTo("1E+999999999");
  }

  @Test
  void everythingThatChangesTheAnswerChangesTheKey() {
    String base = hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}");
    assertThat(hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}],\"temperature\":0}"))
        .isNotEqualTo(base);
    assertThat(hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0,"
        + "\"max_tokens\":5}")).isNotEqualTo(base);
    assertThat(hash("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0,"
        + "\"something_new\":\"x\"}")).isNotEqualTo(base);
    // The same strings in other places must not collide.
    assertThat(hash("{\"a\":\"bc\"}")).isNotEqualTo(hash("{\"ab\":\"c\"}"));
    assertThat(hash("{\"a\":[\"b\",\"c\"]}")).isNotEqualTo(hash("{\"a\":[\"bc\"]}"));
    assertThat(hash("{\"a\":\"1\"}")).isNotEqualTo(hash("{\"a\":1}"));
  }

  @Test
  void theNamespaceAndModelArePartOfTheKey() {
    String json = "{\"messages\":[],\"temperature\":0}";
    CacheKey acme = key(CacheMode.ALWAYS, "acme", json, true).orElseThrow();
    CacheKey other = key(CacheMode.ALWAYS, "other", json, true).orElseThrow();
    assertThat(acme.hash()).isNotEqualTo(other.hash());
    CacheKey upstream = RequestKeys.of(CacheMode.ALWAYS, "acme", "chat", "gpt-4.1",
        Endpoint.CHAT_COMPLETIONS, json.getBytes(StandardCharsets.UTF_8), true).orElseThrow();
    assertThat(upstream.hash()).isNotEqualTo(acme.hash());
  }
}
