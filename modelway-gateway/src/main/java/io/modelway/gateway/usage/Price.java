package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.regex.Pattern;

/**
 * What a model costs, per million tokens, in one currency. Immutable.
 *
 * <p>Costs are counted in billionths of the currency ("nanos"), exactly: a price has at most
 * six decimals, so a million tokens cost a whole number of millionths, and a call's cost is
 * rounded up to the next billionth.
 *
 * @param model the model name clients send
 * @param currency an ISO 4217 code, such as {@code USD} or {@code CNY}
 * @param input per million prompt tokens not read from the provider's prompt cache
 * @param cachedInput per million prompt tokens read from the provider's prompt cache
 * @param output per million completion tokens
 */
public record Price(String model, String currency, BigDecimal input, BigDecimal cachedInput,
    BigDecimal output) {
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final BigDecimal MAX = new BigDecimal("1000000");

  public Price {
    requireNonNull(model, "model");
    requireNonNull(currency, "currency");
    if (!CURRENCY.matcher(currency).matches()) {
      throw new IllegalArgumentException(
          "currency: '" + currency + "' (expected: an ISO 4217 code such as USD or CNY)");
    }
    input = check("input", input);
    cachedInput = check("cached_input", cachedInput);
    output = check("output", output);
  }

  private static BigDecimal check(String name, BigDecimal value) {
    requireNonNull(value, name);
    if (value.signum() < 0 || value.compareTo(MAX) > 0 || value.stripTrailingZeros().scale() > 6) {
      throw new IllegalArgumentException(name + ": " + value.toPlainString()
          + " (expected: 0 to 1000000 per million tokens, at most 6 decimals)");
    }
    return value.setScale(6, RoundingMode.UNNECESSARY);
  }

  /** The cost in billionths of {@link #currency} of a call that used these tokens. */
  public long costNanos(long promptTokens, long cachedTokens, long completionTokens) {
    long cached = Math.max(0, Math.min(cachedTokens, promptTokens));
    // price (6 decimals) × tokens is in millionths per million tokens; / 1000 gives billionths.
    long micros = Math.addExact(Math.addExact(
        Math.multiplyExact(promptTokens - cached, micros(input)),
        Math.multiplyExact(cached, micros(cachedInput))),
        Math.multiplyExact(completionTokens, micros(output)));
    return Math.floorDiv(micros + 999, 1000);
  }

  private static long micros(BigDecimal perMillion) {
    return perMillion.movePointRight(6).longValueExact();
  }

  /** {@code nanos} billionths as an amount: {@code 0.012345678}. */
  public static BigDecimal amount(long nanos) {
    return BigDecimal.valueOf(nanos, 9);
  }
}
