package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.ModelwayConfig.CacheMode;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Makes the cache key of a request, or none when the request is not to be cached.
 *
 * <p>The key hashes the namespace, the public and upstream model names, the endpoint, and the
 * request body normalized: object members sorted by name, numbers by value ({@code 0} and {@code
 * 0.0} are one), and without the fields that change how the answer is delivered but not what it
 * says ({@code model}, given apart; {@code stream}; {@code stream_options}; {@code user}, the
 * end user's id for abuse monitoring). Every other field, known or not, is part of the key, so a
 * parameter the gateway does not know never makes two different requests share an answer.
 *
 * <p>In {@code deterministic} mode only requests whose answer does not depend on sampling luck
 * are keyed ({@link InspectedRequest#deterministic}): {@code temperature} 0, or a {@code seed},
 * and every embedding request. Stateless.
 */
public final class RequestKeys {
  private static final Set<String> DELIVERY_FIELDS = Set.of("model", "stream", "stream_options", "user");
  private static final byte SEPARATOR = 0;
  /** Numbers read exactly: {@code 1e400} is a number, not infinity, and digits beyond a double's count. */
  private static final JsonMapper EXACT = JsonMapper.builder()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

  static {
    // Builds the tree deserializer now rather than under a lock on the first event-loop call.
    EXACT.readTree("{}");
  }

  private RequestKeys() {}

  /**
   * The key of {@code body}, a request to {@code endpoint} already checked by {@link
   * InspectedRequest#inspect} (which says whether it is {@code deterministic}), or empty when
   * {@code mode} does not cache it. A request that is not cached costs no parsing here.
   */
  public static Optional<CacheKey> of(CacheMode mode, String namespace, String model,
      String upstreamModel, Endpoint endpoint, byte[] body, boolean deterministic) {
    requireNonNull(mode, "mode");
    if (mode == CacheMode.OFF || (mode == CacheMode.DETERMINISTIC && !deterministic)) {
      return Optional.empty();
    }
    JsonNode request;
    try {
      request = EXACT.readTree(body);
    } catch (JacksonException e) {
      throw OpenAiException.invalidRequest(InspectedRequest.notJson(e), null);
    }
    MessageDigest digest = sha256();
    text(digest, "modelway-cache-v1");
    text(digest, namespace);
    text(digest, model);
    text(digest, upstreamModel);
    text(digest, endpoint.path());
    List<String> names = new ArrayList<>();
    for (Map.Entry<String, JsonNode> member : request.properties()) {
      if (!DELIVERY_FIELDS.contains(member.getKey())) {
        names.add(member.getKey());
      }
    }
    names.sort(null);
    for (String name : names) {
      text(digest, name);
      value(digest, request.get(name));
    }
    return Optional.of(new CacheKey(namespace, model, HexFormat.of().formatHex(digest.digest())));
  }

  /** Feeds {@code node} in a form that is the same for equal JSON values, and differs otherwise. */
  private static void value(MessageDigest digest, JsonNode node) {
    if (node.isObject()) {
      digest.update((byte) '{');
      List<String> names = new ArrayList<>(node.propertyNames());
      names.sort(null);
      for (String name : names) {
        text(digest, name);
        value(digest, node.get(name));
      }
      digest.update((byte) '}');
    } else if (node.isArray()) {
      digest.update((byte) '[');
      for (JsonNode element : node) {
        value(digest, element);
      }
      digest.update((byte) ']');
    } else if (node.isNumber()) {
      digest.update((byte) '#');
      text(digest, canonical(node.decimalValue()));
    } else if (node.isString()) {
      digest.update((byte) '"');
      text(digest, node.stringValue());
    } else if (node.isBoolean()) {
      digest.update(node.booleanValue() ? (byte) 't' : (byte) 'f');
    } else {
      digest.update((byte) 'n');
    }
  }

  /**
   * {@code number} written the same for equal values and differently otherwise ({@code 1.50} and
   * {@code 1.5} are one): plainly, or in E notation when plain digits would be many ({@code
   * 1e999999999} is not written out).
   */
  static String canonical(BigDecimal number) {
    if (number.signum() == 0) {
      return "0";
    }
    BigDecimal stripped = number.stripTrailingZeros();
    return Math.abs(stripped.scale()) > 100 ? stripped.toString() : stripped.toPlainString();
  }

  /** A string, length-prefixed so that no two sequences of strings feed the same bytes. */
  private static void text(MessageDigest digest, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    digest.update((byte) (bytes.length >>> 24));
    digest.update((byte) (bytes.length >>> 16));
    digest.update((byte) (bytes.length >>> 8));
    digest.update((byte) bytes.length);
    digest.update(bytes);
    digest.update(SEPARATOR);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }
}
