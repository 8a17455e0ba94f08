package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.OpenAiException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A secret every caller of some API must present as {@code Authorization: Bearer SECRET}, read
 * once from an environment variable. Unset means the API is off: every call is refused with 403,
 * which fails closed. Compared in constant time. Thread-safe.
 */
public final class SharedSecret {
  /** The admin API's key ({@code /admin/v1}). */
  public static final String ADMIN_KEY_ENV = "MODELWAY_ADMIN_KEY";
  /** The secret workers register with. */
  public static final String CLUSTER_SECRET_ENV = "MODELWAY_CLUSTER_SECRET";

  private final String variable;
  private final String what;
  private final Optional<byte[]> secret;

  private SharedSecret(String variable, String what, @Nullable String value) {
    this.variable = variable;
    this.what = what;
    this.secret = value == null || value.isBlank()
        ? Optional.empty()
        : Optional.of(value.strip().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * @param variable the environment variable holding the secret
   * @param what the API it guards, for error messages ("the admin API")
   */
  public static SharedSecret fromEnvironment(
      Function<String, @Nullable String> environment, String variable, String what) {
    requireNonNull(environment, "environment");
    requireNonNull(variable, "variable");
    return new SharedSecret(variable, requireNonNull(what, "what"), environment.apply(variable));
  }

  /** Whether the variable is set, so the API is on. */
  public boolean isSet() {
    return secret.isPresent();
  }

  /**
   * Checks an {@code Authorization} header.
   *
   * @throws OpenAiException 403 when the secret is not set here, 401 when the header is missing
   *     or holds another secret
   */
  public void check(@Nullable String authorization) {
    if (secret.isEmpty()) {
      throw new OpenAiException(403, "permission_error", capitalized() + " is off: start"
          + " Modelway with " + variable + " set to turn it on.", null, "api_disabled");
    }
    String presented = Authenticator.bearer(authorization);
    if (presented == null) {
      throw new OpenAiException(401, "invalid_request_error", capitalized() + " needs the secret"
          + " in " + variable + " as 'Authorization: Bearer <secret>'.", null, "missing_api_key");
    }
    if (!MessageDigest.isEqual(secret.get(), presented.getBytes(StandardCharsets.UTF_8))) {
      throw new OpenAiException(401, "invalid_request_error", "Incorrect secret for " + what
          + " (expected: the value of " + variable + ").", null, "invalid_api_key");
    }
  }

  /** The secret, for a client that presents it (a worker registering). */
  public Optional<String> value() {
    return secret.map(bytes -> new String(bytes, StandardCharsets.UTF_8));
  }

  private String capitalized() {
    return Character.toUpperCase(what.charAt(0)) + what.substring(1);
  }

}
