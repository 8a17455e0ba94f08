package io.modelway.gateway.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.catalog.ModelwayConfig.CacheMode;
import io.modelway.openai.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestKeysTest {

  private static Optional<CacheKey> key(CacheMode mode, String namespace, String json) {
    return RequestKeys.of(mode, namespace, "chat", "gpt-4o", Endpoint.CHAT_COMPLETIONS,
        json.getBytes(StandardCharsets.UTF_8));
  }

  private static String hash(String json) {
    return key(CacheMode.ALWAYS, "acme", json).orElseThrow().hash();
  }

  @Test
  void onlyDeterministicRequestsAreKeyedInDeterministicMode() {
    assertThat(key(CacheMode.DETERMINISTIC, "acme", "{\"messages\":[]}")).isEmpty();
    assertThat(key(CacheMode.DETERMINISTIC, "acme", "{\"messages\":[],\"temperature\":0.2}")).isEmpty();
    assertThat(key(CacheMode.DETERMINISTIC, "acme", "{\"messages\":[],\"temperature\":null}")).isEmpty();
    assertThat(key(CacheMode.DETERMINISTIC, "acme", "{\"messages\":[],\"temperature\":0}")).isPresent();
    assertThat(key(CacheMode.DETERMINISTIC, "acme", "{\"messages\":[],\"seed\":7,\"temperature\":1}"))
        .isPresent();
    assertThat(key(CacheMode.ALWAYS, "acme", "{\"messages\":[]}")).isPresent();
    assertThat(key(CacheMode.OFF, "acme", "{\"messages\":[],\"temperature\":0}")).isEmpty();
    assertThat(RequestKeys.of(CacheMode.DETERMINISTIC, "acme", "e", "e", Endpoint.EMBEDDINGS,
        "{\"input\":\"x\"}".getBytes(StandardCharsets.UTF_8))).isPresent();
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
    CacheKey acme = key(CacheMode.ALWAYS, "acme", json).orElseThrow();
    CacheKey other = key(CacheMode.ALWAYS, "other", json).orElseThrow();
    assertThat(acme.hash()).isNotEqualTo(other.hash());
    CacheKey upstream = RequestKeys.of(CacheMode.ALWAYS, "acme", "chat", "gpt-4.1",
        Endpoint.CHAT_COMPLETIONS, json.getBytes(StandardCharsets.UTF_8)).orElseThrow();
    assertThat(upstream.hash()).isNotEqualTo(acme.hash());
  }
}
