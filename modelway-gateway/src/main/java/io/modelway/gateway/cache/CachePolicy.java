package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.gateway.catalog.ModelwayConfig.CacheMode;
import java.math.BigDecimal;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * What a plan says of the response cache for its holders' calls, on top of each model's {@code
 * cache} settings. Immutable.
 *
 * <p>The plan's {@code mode}, when it sets one, replaces the model's — except that a model set to
 * {@code off} stays off (its answers must never be reused, whatever the plan). The plan's {@code
 * semantic}, when set, turns the model's semantic cache on or off, with the model's threshold and
 * embedding model. A cache hit costs {@code answerPrice} in {@code currency}, recorded in the
 * ledger (none: free).
 *
 * @param mode which answers are cached for this plan's holders, if the plan says
 * @param semantic whether near-repeats are answered for them, if the plan says
 * @param answerPrice what one answer from the cache costs, at most 6 decimals
 * @param currency the ISO code of {@code answerPrice} (default USD)
 */
public record CachePolicy(Optional<CacheMode> mode, Optional<Boolean> semantic,
    Optional<BigDecimal> answerPrice, String currency) {
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  /** A plan that says nothing of the cache. */
  public static final CachePolicy NONE =
      new CachePolicy(Optional.empty(), Optional.empty(), Optional.empty(), "USD");

  public CachePolicy {
    requireNonNull(mode, "mode");
    requireNonNull(semantic, "semantic");
    requireNonNull(answerPrice, "answerPrice");
    requireNonNull(currency, "currency");
    if (answerPrice.isPresent() && (answerPrice.get().signum() < 0
        || answerPrice.get().stripTrailingZeros().scale() > 6
        || answerPrice.get().compareTo(BigDecimal.valueOf(1_000_000)) > 0)) {
      throw new IllegalArgumentException("answer_price: " + answerPrice.get()
          + " (expected: 0 to 1000000 with at most 6 decimals)");
    }
    if (!CURRENCY.matcher(currency).matches()) {
      throw new IllegalArgumentException("currency: '" + currency
          + "' (expected: an ISO 4217 code such as USD)");
    }
  }

  /** Whether the plan says anything of the cache. */
  public boolean any() {
    return mode.isPresent() || semantic.isPresent() || answerPrice.isPresent();
  }

  /**
   * The policy of a key on its own plan ({@code keyPlan}) whose tenant is on this plan: what the
   * tenant's plan says holds, the key's plan fills only what the tenant's leaves open, and a hit
   * costs the higher of the two prices (the tenant's when their currencies differ). A key's plan
   * narrows its tenant's; it never makes hits cheaper.
   */
  public CachePolicy narrowedBy(CachePolicy keyPlan) {
    Optional<BigDecimal> price = answerPrice;
    String priceCurrency = currency;
    if (keyPlan.answerPrice.isPresent()) {
      if (answerPrice.isEmpty()) {
        price = keyPlan.answerPrice;
        priceCurrency = keyPlan.currency;
      } else if (keyPlan.currency.equals(currency)
          && keyPlan.answerPrice.get().compareTo(answerPrice.get()) > 0) {
        price = keyPlan.answerPrice;
      }
    }
    return new CachePolicy(mode.or(() -> keyPlan.mode), semantic.or(() -> keyPlan.semantic),
        price, priceCurrency);
  }

  /** {@code model}'s settings as they apply to this plan's holders. */
  ModelwayConfig.Cache applyTo(ModelwayConfig.Cache model) {
    if (model.mode() == CacheMode.OFF || !any()) {
      return model;
    }
    CacheMode effective = mode.orElse(model.mode());
    boolean semanticOn = effective != CacheMode.OFF
        && semantic.orElse(model.semantic().enabled());
    ModelwayConfig.Semantic s = model.semantic();
    return new ModelwayConfig.Cache(effective, model.ttl(), model.maxSize(),
        semanticOn == s.enabled() ? s
            : new ModelwayConfig.Semantic(semanticOn, s.threshold(), s.embeddingModel()),
        model.staleIfError());
  }

  /** What a hit costs, in billionths of {@link #currency}; empty when free. */
  public OptionalLong answerNanos() {
    return answerPrice.isEmpty() ? OptionalLong.empty()
        : OptionalLong.of(answerPrice.get().movePointRight(9).longValueExact());
  }
}
