package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.modelway.backend.BackendCall;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * What a {@link Policy} may read of a call: its session key and its prompt's block hashes. Both
 * are read from the call only when a policy asks, and once. Not thread-safe: one call's attempts
 * run one after the other.
 */
public final class RouteRequest {
  private static final JsonFactory JSON = new JsonFactory();

  private static final long[] NO_BLOCKS = new long[0];

  private final @Nullable BackendCall call;
  private final String sessionHeader;
  private boolean sessionKeyRead;
  private Optional<String> sessionKey = Optional.empty();
  private boolean prefixBlocksRead;
  private long[] prefixBlocks = NO_BLOCKS;

  /** A request read from {@code call} on demand. */
  private RouteRequest(BackendCall call, String sessionHeader) {
    this.call = call;
    this.sessionHeader = sessionHeader;
  }

  /** A request whose parts are given. */
  private RouteRequest(Optional<String> sessionKey, long[] prefixBlocks) {
    this.call = null;
    this.sessionHeader = "";
    this.sessionKey = sessionKey;
    this.sessionKeyRead = true;
    this.prefixBlocks = prefixBlocks;
    this.prefixBlocksRead = true;
  }

  /**
   * The request of {@code call}: its session key is header {@code sessionHeader}, else the
   * body's {@code user} field.
   */
  public static RouteRequest of(BackendCall call, String sessionHeader) {
    return new RouteRequest(requireNonNull(call, "call"),
        requireNonNull(sessionHeader, "sessionHeader"));
  }

  /** A request with the given session key and prompt block hashes (not copied). */
  public static RouteRequest of(Optional<String> sessionKey, long[] prefixBlocks) {
    return new RouteRequest(requireNonNull(sessionKey, "sessionKey"),
        requireNonNull(prefixBlocks, "prefixBlocks"));
  }

  /** A request with a session key and no prompt. */
  public static RouteRequest withSession(String sessionKey) {
    return of(Optional.of(sessionKey), NO_BLOCKS);
  }

  /** A request with a prompt and no session key. */
  public static RouteRequest withPrompt(String text) {
    return of(Optional.empty(), PromptBlocks.ofText(text));
  }

  /** The key whose calls should go to the same instance, if the call has one. */
  public Optional<String> sessionKey() {
    if (!sessionKeyRead) {
      sessionKey = readSessionKey();
      sessionKeyRead = true;
    }
    return sessionKey;
  }

  /** The chained hashes of the prompt's blocks (see {@link PromptBlocks}); do not modify. */
  public long[] prefixBlocks() {
    if (!prefixBlocksRead) {
      prefixBlocks = call == null ? NO_BLOCKS : PromptBlocks.of(call.endpoint(), call.body());
      prefixBlocksRead = true;
    }
    return prefixBlocks;
  }

  private Optional<String> readSessionKey() {
    if (call == null) {
      return Optional.empty();
    }
    String header = call.clientHeaders().get(sessionHeader);
    if (header != null && !header.isBlank()) {
      return Optional.of(header);
    }
    return user(call.body());
  }

  /** The top-level {@code user} string of a JSON body, read without building a tree. */
  private static Optional<String> user(byte[] body) {
    try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return Optional.empty();
      }
      while (p.nextToken() == JsonToken.PROPERTY_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("user") && value == JsonToken.VALUE_STRING && !p.getString().isBlank()) {
          return Optional.of(p.getString());
        }
        p.skipChildren();
      }
    } catch (JacksonException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
