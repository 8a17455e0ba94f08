package io.modelway.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Makes and hashes API key secrets: {@code mw-} and 32 characters of base62 (190 random bits)
 * from {@link SecureRandom}. Stored as SHA-256: with that much entropy a slow password hash buys
 * nothing and would cost every request. Thread-safe.
 */
public final class KeySecrets {
  /** Every Modelway key starts with this, so secret scanners can recognise them. */
  public static final String PREFIX = "mw-";
  static final int RANDOM_CHARS = 32;
  /** Characters of a key shown in listings ({@code mw-} and six more). */
  static final int SHOWN = 9;

  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private KeySecrets() {}

  /** A new secret. */
  public static String generate() {
    StringBuilder key = new StringBuilder(PREFIX.length() + RANDOM_CHARS).append(PREFIX);
    for (int i = 0; i < RANDOM_CHARS; i++) {
      key.append(BASE62[RANDOM.nextInt(BASE62.length)]);
    }
    return key.toString();
  }

  /** A new key id, for the admin API: {@code key_} and 12 hex digits. */
  static String newId() {
    byte[] bytes = new byte[6];
    RANDOM.nextBytes(bytes);
    return "key_" + HexFormat.of().formatHex(bytes);
  }

  /** The SHA-256 of {@code secret}, in lower-case hex. */
  public static String sha256(String secret) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** What listings show of {@code secret}. */
  static String shown(String secret) {
    return secret.substring(0, Math.min(SHOWN, secret.length()));
  }
}
