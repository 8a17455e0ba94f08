package io.modelway.gateway.catalog;

/**
 * A config that cannot be used. The message names the field and says what was expected, such as
 * {@code backends.openai.timeouts.connect: -5s (expected: > 0)}.
 */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
