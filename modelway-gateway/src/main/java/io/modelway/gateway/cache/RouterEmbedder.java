package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.BackendCall;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.routing.ModelRouter;
import io.modelway.openai.Endpoint;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Embeds questions with a model this gateway serves, routed as any call to it would be (in this
 * process, on a worker, on a configured backend). These calls are the gateway's own: they pass
 * no tenant's limits and are not in the usage ledger. A model that is missing, not ready,
 * failing or slower than {@link #TIMEOUT} gives no embedding, and the request goes on as a miss.
 */
final class RouterEmbedder implements SemanticCache.Embedder {
  static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final LiveCatalog catalog;
  private final ModelRouter router;

  RouterEmbedder(LiveCatalog catalog, ModelRouter router) {
    this.catalog = requireNonNull(catalog, "catalog");
    this.router = requireNonNull(router, "router");
  }

  @Override
  public CompletableFuture<Optional<float[]>> embed(String model, String text) {
    Optional<Catalog.Route> route;
    try {
      route = router.resolve(catalog.current(), model);
    } catch (RuntimeException notReady) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    if (route.isEmpty()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    ObjectNode request = JSON.createObjectNode().put("model", route.get().upstreamModel())
        .put("input", text).put("encoding_format", "float");
    BackendCall call = new BackendCall(Endpoint.EMBEDDINGS, JSON.writeValueAsBytes(request),
        false, "semantic-cache-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    return route.get().backend().send(call)
        .flatMap(answer -> answer.body()
            .collect(ByteArrayOutputStream::new, ByteArrayOutputStream::writeBytes)
            .map(body -> answer.status() == 200 ? vector(body.toByteArray()) : Optional.<float[]>empty()))
        .timeout(TIMEOUT)
        .onErrorResume(failure -> Mono.just(Optional.empty()))
        .defaultIfEmpty(Optional.empty())
        .toFuture();
  }

  /** The first embedding of an embeddings answer: a list of numbers, or Base64 floats. */
  static Optional<float[]> vector(byte[] answer) {
    JsonNode embedding;
    try {
      embedding = JSON.readTree(answer).path("data").path(0).path("embedding");
    } catch (JacksonException e) {
      return Optional.empty();
    }
    if (embedding.isArray() && !embedding.isEmpty()) {
      float[] v = new float[embedding.size()];
      for (int i = 0; i < v.length; i++) {
        if (!embedding.get(i).isNumber()) {
          return Optional.empty();
        }
        v[i] = embedding.get(i).floatValue();
      }
      return Optional.of(v);
    }
    if (embedding.isString()) {
      try {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(embedding.asString()))
            .order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(v);
        return v.length == 0 ? Optional.empty() : Optional.of(v);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }
}
