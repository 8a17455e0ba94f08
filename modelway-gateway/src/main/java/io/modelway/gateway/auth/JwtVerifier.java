package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.OpenAiException;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;

/**
 * Verifies bearer JWTs from the OIDC issuer of the config's {@code auth.jwt}, without I/O on the
 * request path: the issuer's signing keys (JWKS) are fetched by {@link #refresh} — off the event
 * loops, every {@link #RELOAD} and whenever the config names another issuer — and a token is
 * checked against that in-memory copy with Spring Security's {@link NimbusJwtDecoder} (signature,
 * {@code exp}/{@code nbf} with a minute of skew, {@code iss}, {@code aud} when configured), and
 * must carry an {@code exp} within the config's {@code max-lifetime} (see {@link #lifetime}). A
 * token signed by a key not in the copy (the issuer rotated its keys) is refused and a reload is
 * started at once, at most every {@link #RETRY}. If the issuer cannot be reached the last keys
 * stay in use. Thread-safe.
 */
public final class JwtVerifier {
  private static final Logger log = LoggerFactory.getLogger(JwtVerifier.class);
  static final Duration RELOAD = Duration.ofMinutes(5);
  static final Duration RETRY = Duration.ofSeconds(2);
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256,
      JWSAlgorithm.RS384, JWSAlgorithm.RS512, JWSAlgorithm.PS256, JWSAlgorithm.PS384,
      JWSAlgorithm.PS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512,
      JWSAlgorithm.EdDSA);

  /** The keys of one issuer, as fetched, and the decoder built on them. */
  private record Keys(ModelwayConfig.Jwt config, JWKSet set, NimbusJwtDecoder decoder,
      Instant fetchedAt) {}

  private final Supplier<Optional<ModelwayConfig.Jwt>> config;
  private final Executor background;
  private final Clock clock;
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NORMAL).build();
  private final AtomicReference<@Nullable Keys> keys = new AtomicReference<>();
  private volatile Instant lastAttempt = Instant.EPOCH;

  /**
   * @param config the current {@code auth.jwt} of the config file (it may change on reload)
   * @param background where a reload for an unknown key runs
   */
  public JwtVerifier(Supplier<Optional<ModelwayConfig.Jwt>> config, Executor background,
      Clock clock) {
    this.config = requireNonNull(config, "config");
    this.background = requireNonNull(background, "background");
    this.clock = requireNonNull(clock, "clock");
  }

  /** No JWTs: the config cannot turn them on. */
  public static JwtVerifier none() {
    return new JwtVerifier(Optional::empty, Runnable::run, Clock.systemUTC());
  }

  /** Whether the config accepts JWTs. */
  boolean enabled() {
    return config.get().isPresent();
  }

  /** The config's current {@code auth.jwt}; only while {@link #enabled}. */
  ModelwayConfig.Jwt settings() {
    return config.get().orElseThrow();
  }

  /** The verified claims of {@code token}, or a 401 saying what is wrong with it. */
  Jwt verify(String token) {
    ModelwayConfig.Jwt settings = config.get().orElseThrow();
    Keys current = keys.get();
    if (current == null || !current.config().equals(settings)) {
      reloadSoon();
      throw unauthorized("the signing keys of the issuer are not loaded yet; retry in a few"
          + " seconds");
    }
    String kid = keyId(token);
    if (kid != null && current.set().getKeyByKeyId(kid) == null) {
      reloadSoon();
      // The JWKS URL is an internal address: the log has it, the caller does not need it.
      throw unauthorized("it is signed with key '" + abbreviate(kid) + "', which the issuer did"
          + " not list when last read; retry in a few seconds");
    }
    try {
      return current.decoder().decode(token);
    } catch (JwtException e) {
      throw unauthorized(e.getMessage());
    }
  }

  /**
   * Fetches the issuer's keys when the config names another issuer, or the last fetch is
   * {@link #RELOAD} old. Blocking: call it off the event loops.
   */
  public void refresh() {
    Optional<ModelwayConfig.Jwt> settings = config.get();
    Keys current = keys.get();
    if (settings.isEmpty()) {
      keys.set(null);
      return;
    }
    if (current != null && current.config().equals(settings.get())
        && current.fetchedAt().plus(RELOAD).isAfter(clock.instant())) {
      return;
    }
    fetch(settings.get());
  }

  private void reloadSoon() {
    Instant now = clock.instant();
    if (lastAttempt.plus(RETRY).isAfter(now)) {
      return;
    }
    lastAttempt = now;
    config.get().ifPresent(settings -> background.execute(() -> fetch(settings)));
  }

  private synchronized void fetch(ModelwayConfig.Jwt settings) {
    lastAttempt = clock.instant();
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(settings.jwksUrl())
          .timeout(Duration.ofSeconds(5)).header("Accept", "application/json").GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException("HTTP " + response.statusCode());
      }
      JWKSet set = JWKSet.parse(response.body());
      DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
      processor.setJWSKeySelector(
          new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(set)));
      NimbusJwtDecoder decoder = new NimbusJwtDecoder(processor);
      OAuth2TokenValidator<Jwt> validator = new DelegatingOAuth2TokenValidator<>(
          JwtValidators.createDefaultWithIssuer(settings.issuer()),
          lifetime(settings.maxLifetime(), clock));
      if (settings.audience() != null) {
        String audience = settings.audience();
        validator = new DelegatingOAuth2TokenValidator<>(validator, new JwtClaimValidator<List<String>>(
            JwtClaimNames.AUD, aud -> aud != null && aud.contains(audience)));
      }
      decoder.setJwtValidator(validator);
      keys.set(new Keys(settings, set, decoder, clock.instant()));
      log.info("Loaded {} signing keys of {} from {}", set.getKeys().size(), settings.issuer(),
          settings.jwksUrl());
    } catch (IOException | ParseException | RuntimeException e) {
      log.warn("Cannot load the signing keys of {} from {} (keeping the last ones): {}",
          settings.issuer(), settings.jwksUrl(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Refuses a token without {@code exp}, or whose {@code exp} is more than {@code max} (and a
   * minute of skew) after now or after its {@code iat}: without it a leaked token would never
   * stop working.
   */
  static OAuth2TokenValidator<Jwt> lifetime(Duration max, Clock clock) {
    Duration skew = Duration.ofMinutes(1);
    String limit = max.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    return jwt -> {
      Instant exp = jwt.getExpiresAt();
      if (exp == null) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token",
            "The token has no exp claim (expected: an expiry at most " + limit + " ahead)", null));
      }
      if (exp.isAfter(clock.instant().plus(max).plus(skew))) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token",
            "The token's exp is more than " + limit + " ahead (max-lifetime)", null));
      }
      Instant iat = jwt.getIssuedAt();
      if (iat != null && exp.isAfter(iat.plus(max).plus(skew))) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token",
            "The token's exp is more than " + limit + " after its iat (max-lifetime)", null));
      }
      return OAuth2TokenValidatorResult.success();
    };
  }

  private static String abbreviate(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "…" : s;
  }

  private static @Nullable String keyId(String token) {
    int dot = token.indexOf('.');
    try {
      return JWSHeader.parse(new Base64URL(token.substring(0, Math.max(0, dot)))).getKeyID();
    } catch (ParseException | RuntimeException e) {
      throw unauthorized("it is not a JWT (" + e.getMessage() + ")");
    }
  }

  private static OpenAiException unauthorized(String why) {
    return new OpenAiException(401, "invalid_request_error", "The bearer token was refused: "
        + why + ".", null, "invalid_token");
  }

  /** Whether {@code token} has a JWT's shape: three base64url parts, the first a JSON header. */
  static boolean looksLikeJwt(String token) {
    return token.startsWith("eyJ") && token.chars().filter(c -> c == '.').count() == 2;
  }
}
