package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * What one holder of a plan may use in a calendar month (UTC): tokens, and money at the models'
 * prices. Immutable.
 *
 * @param monthlyTokens prompt plus completion tokens a month
 * @param monthlyBudget money a month, in {@code currency}, at most 6 decimals
 * @param currency the budget's ISO 4217 currency; only models priced in it are charged to it
 * @param hard whether a call that may not fit is refused ({@code true}) or served and marked
 *     ({@code false}: a soft budget, for alerting)
 */
public record Quota(OptionalLong monthlyTokens, Optional<BigDecimal> monthlyBudget,
    Optional<String> currency, boolean hard) {
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

  public static final Quota NONE =
      new Quota(OptionalLong.empty(), Optional.empty(), Optional.empty(), true);

  public Quota {
    requireNonNull(monthlyTokens, "monthlyTokens");
    requireNonNull(monthlyBudget, "monthlyBudget");
    requireNonNull(currency, "currency");
    if (monthlyTokens.isPresent() && monthlyTokens.getAsLong() < 1) {
      throw new IllegalArgumentException(
          "monthly_tokens: " + monthlyTokens.getAsLong() + " (expected: >= 1)");
    }
    if (monthlyBudget.isPresent() && (monthlyBudget.get().signum() < 0
        || monthlyBudget.get().stripTrailingZeros().scale() > 6
        || monthlyBudget.get().compareTo(new BigDecimal("9000000")) > 0)) {
      throw new IllegalArgumentException("monthly_budget: " + monthlyBudget.get().toPlainString()
          + " (expected: 0 to 9000000, at most 6 decimals)");
    }
    if (monthlyBudget.isPresent() != currency.isPresent()) {
      throw new IllegalArgumentException("budget_currency: "
          + (currency.isPresent() ? "given without monthly_budget" : "missing")
          + " (expected: both monthly_budget and budget_currency, or neither)");
    }
    if (currency.isPresent() && !CURRENCY.matcher(currency.get()).matches()) {
      throw new IllegalArgumentException("budget_currency: '" + currency.get()
          + "' (expected: an ISO 4217 code such as USD or CNY)");
    }
  }

  /** Whether any monthly limit is set. */
  public boolean any() {
    return monthlyTokens.isPresent() || monthlyBudget.isPresent();
  }

  /** The budget in billionths of its currency. */
  long budgetNanos() {
    return monthlyBudget.orElseThrow().movePointRight(9).longValueExact();
  }
}
