package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * The key of one cached answer. Immutable.
 *
 * @param namespace the cache namespace of the caller's tenant: its own id, unless an admin put
 *     it in a shared one
 * @param model the public model name
 * @param hash the SHA-256, in hex, of the namespace, the resolved model and the normalized
 *     request; what a purge of one entry names
 */
public record CacheKey(String namespace, String model, String hash) {
  private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

  public CacheKey {
    requireNonNull(namespace, "namespace");
    requireNonNull(model, "model");
    requireNonNull(hash, "hash");
    if (!validHash(hash)) {
      throw new IllegalArgumentException("hash: '" + hash + "' (expected: 64 hex digits)");
    }
  }

  /** Whether {@code hash} is a well-formed entry hash. */
  public static boolean validHash(String hash) {
    return HASH.matcher(hash).matches();
  }
}
