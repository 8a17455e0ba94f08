package io.modelway.gateway.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.bucket4j.TimeMeter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.gateway.usage.Price;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  /** A wall clock (as Bucket4j's proxy managers need) that the test moves. */
  static final class MovedClock implements TimeMeter {
    final AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L);

    void advance(Duration d) {
      nanos.addAndGet(d.toNanos());
    }

    @Override
    public long currentTimeNanos() {
      return nanos.get();
    }

    @Override
    public boolean isWallClockBased() {
      return true;
    }
  }

  private final MovedClock clock = new MovedClock();
  private final Map<String, Plan> plans = new HashMap<>();
  private final Map<String, Price> prices = new HashMap<>();
  /** What the ledger says each holder used before: {tokens, billionths}. */
  private final Map<String, long[]> ledger = new HashMap<>();
  private final Admission admission = new Admission(() -> Map.copyOf(plans),
      Counters.local(clock), model -> Optional.ofNullable(prices.get(model)),
      (key, holder, since, currency) -> ledger.getOrDefault((key ? "k:" : "t:") + holder,
          new long[2]), Runnable::run,
      Clock.fixed(Instant.parse("2026-11-29T12:00:00Z"), ZoneOffset.UTC),
      new SimpleMeterRegistry());

  private static Limits limits(Long rpm, Long tpm, Integer concurrent) {
    return new Limits(rpm == null ? OptionalLong.empty() : OptionalLong.of(rpm),
        tpm == null ? OptionalLong.empty() : OptionalLong.of(tpm),
        concurrent == null ? OptionalInt.empty() : OptionalInt.of(concurrent));
  }

  private static Principal caller(String key, String tenantPlan, String keyPlan) {
    return new Principal("acme", key, Optional.empty(), Role.MEMBER, Set.of(),
        Optional.ofNullable(keyPlan), Optional.ofNullable(tenantPlan));
  }

  private static byte[] chat(String model, String text, Integer maxTokens) {
    return ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text
        + "\"}]" + (maxTokens == null ? "" : ",\"max_tokens\":" + maxTokens) + "}")
        .getBytes(StandardCharsets.UTF_8);
  }

  private Admission.Ticket admit(Principal caller, byte[] body) {
    return admission.admit(caller, InspectedRequest.inspect(Endpoint.CHAT_COMPLETIONS, body), body)
        .join();
  }

  private static OpenAiException refusal(Runnable call) {
    try {
      call.run();
    } catch (CompletionException e) {
      return (OpenAiException) e.getCause();
    } catch (OpenAiException e) {
      return e;
    }
    throw new AssertionError("admitted");
  }

  @Test
  void admitsEverythingWithoutAPlan() {
    Admission.Ticket ticket = admit(caller("k1", null, null), chat("m", "hi", null));
    assertThat(ticket.headers()).isEmpty();
  }

  @Test
  void admitsExactlyTheRequestsPerMinuteOfTwoHundredConcurrentCalls() throws Exception {
    plans.put("p", new Plan("p", limits(50L, null, null), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    byte[] body = chat("m", "hi", null);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<CompletableFuture<Boolean>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      calls.add(CompletableFuture.supplyAsync(() -> {
        try {
          admit(caller, body);
          return true;
        } catch (CompletionException e) {
          assertThat(((OpenAiException) e.getCause()).status()).isEqualTo(429);
          return false;
        }
      }, pool));
    }
    long admitted = calls.stream().filter(CompletableFuture::join).count();
    pool.shutdown();
    assertThat(admitted).isEqualTo(50);

    clock.advance(Duration.ofSeconds(59));
    assertThat(refusal(() -> admit(caller, body)).retryAfter()).contains("1");
    clock.advance(Duration.ofSeconds(1));
    assertThat(admit(caller, body).headers()).containsEntry("x-ratelimit-remaining-requests", "49");
  }

  @Test
  void refusalSaysWhichLimitAndWhenToRetry() {
    plans.put("p", new Plan("p", limits(2L, null, null), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    Admission.Ticket first = admit(caller, chat("m", "hi", null));
    assertThat(first.headers()).containsEntry("x-ratelimit-limit-requests", "2")
        .containsEntry("x-ratelimit-remaining-requests", "1")
        .containsEntry("x-ratelimit-reset-requests", "1m0s");
    clock.advance(Duration.ofMillis(20_500));
    admit(caller, chat("m", "hi", null));
    OpenAiException refused = refusal(() -> admit(caller, chat("m", "hi", null)));
    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.type()).isEqualTo("requests");
    assertThat(refused.code()).isEqualTo("rate_limit_exceeded");
    assertThat(refused.getMessage()).contains("tenant 'acme' (plan 'p')").contains("limit 2");
    assertThat(refused.retryAfter()).contains("40");
    assertThat(refused.headers()).containsEntry("x-ratelimit-remaining-requests", "0")
        .containsEntry("x-ratelimit-reset-requests", "39.5s");
  }

  @Test
  void keyAndTenantPlansCountApart() {
    plans.put("team", new Plan("team", limits(3L, null, null), Set.of(), Map.of(), 1));
    plans.put("solo", new Plan("solo", limits(1L, null, null), Set.of(), Map.of(), 1));
    admit(caller("k1", "team", "solo"), chat("m", "hi", null));
    OpenAiException refused = refusal(() -> admit(caller("k1", "team", "solo"), chat("m", "hi", null)));
    assertThat(refused.getMessage()).contains("key k1 (plan 'solo')");
    // The refused call gave back what it took from the tenant: two more fit there.
    admit(caller("k2", "team", "solo"), chat("m", "hi", null));
    admit(caller("k3", "team", null), chat("m", "hi", null));
    assertThat(refusal(() -> admit(caller("k4", "team", null), chat("m", "hi", null))).getMessage())
        .contains("tenant 'acme' (plan 'team')");
  }

  @Test
  void modelLimitsCountOnlyThatModel() {
    plans.put("p", new Plan("p", limits(100L, null, null), Set.of(),
        Map.of("big", limits(1L, null, null)), 1));
    Principal caller = caller("k1", "p", null);
    admit(caller, chat("big", "hi", null));
    assertThat(refusal(() -> admit(caller, chat("big", "hi", null))).getMessage())
        .contains("for model 'big'");
    admit(caller, chat("small", "hi", null));
  }

  @Test
  void aPlanWithoutTheModelAnswersAsIfItDidNotExist() {
    plans.put("p", new Plan("p", Limits.NONE, Set.of("small"), Map.of(), 1));
    assertThat(refusal(() -> admit(caller("k1", "p", null), chat("big", "hi", null))).status())
        .isEqualTo(404);
    admit(caller("k1", "p", null), chat("small", "hi", null));
  }

  @Test
  void limitsCallsAtOnceAndFreesThePlaceWhenACallEnds() {
    plans.put("p", new Plan("p", limits(null, null, 2), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    Admission.Ticket a = admit(caller, chat("m", "hi", null));
    admit(caller, chat("m", "hi", null));
    OpenAiException refused = refusal(() -> admit(caller, chat("m", "hi", null)));
    assertThat(refused.getMessage()).contains("Too many calls at once").contains("limit is 2");
    a.settle(2, 0);
    a.settle(2, 0); // once only
    admit(caller, chat("m", "hi", null));
    assertThat(refusal(() -> admit(caller, chat("m", "hi", null))).status()).isEqualTo(429);
  }

  @Test
  void reservesTheEstimateAndSettlesWithTheRealUsage() {
    plans.put("p", new Plan("p", limits(null, 1000L, null), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    // "hello world" is 2 tokens, plus 4 for the message and 3 for the answer's priming: 9, and
    // max_tokens 100 on top.
    Admission.Ticket ticket = admit(caller, chat("gpt-4o", "hello world", 100));
    assertThat(ticket.headers()).containsEntry("x-ratelimit-remaining-tokens", "891");
    assertThat(ticket.estimatedPrompt()).hasValue(9);
    ticket.settle(30, 0); // 30 used: 79 come back
    Admission.Ticket next = admit(caller, chat("gpt-4o", "hello world", 100));
    assertThat(next.headers()).containsEntry("x-ratelimit-remaining-tokens", String.valueOf(1000 - 30 - 109));
    next.settle(509, 0); // 400 more than reserved are taken
    Admission.Ticket third = admit(caller, chat("gpt-4o", "hello world", null));
    assertThat(third.headers()).containsEntry("x-ratelimit-remaining-tokens",
        String.valueOf(1000 - 30 - 509 - 9));
  }

  @Test
  void refusesACallLargerThanTheWholeTokenWindow() {
    plans.put("p", new Plan("p", limits(10L, 50L, null), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    OpenAiException refused = refusal(() -> admit(caller, chat("m", "hi", 100)));
    assertThat(refused.type()).isEqualTo("tokens");
    assertThat(refused.getMessage()).contains("more than the limit of 50 tokens per minute");
    // Nothing was used up by the refused call: all 10 calls of the minute are still there.
    assertThat(admit(caller, chat("m", "hi", 10)).headers())
        .containsEntry("x-ratelimit-remaining-requests", "9");
  }

  @Test
  void aNewRevisionOfThePlanAppliesToItsCounters() {
    plans.put("p", new Plan("p", limits(1L, null, null), Set.of(), Map.of(), 1));
    Principal caller = caller("k1", "p", null);
    admit(caller, chat("m", "hi", null));
    assertThat(refusal(() -> admit(caller, chat("m", "hi", null))).status()).isEqualTo(429);
    plans.put("p", new Plan("p", limits(3L, null, null), Set.of(), Map.of(), 2));
    // The one call made counts against the new limit too.
    assertThat(admit(caller, chat("m", "hi", null)).headers())
        .containsEntry("x-ratelimit-remaining-requests", "1");
  }

  private static Plan quotaPlan(Long tokens, String budget, boolean hard) {
    return new Plan("q", Limits.NONE, Set.of(), Map.of(), new Quota(
        tokens == null ? OptionalLong.empty() : OptionalLong.of(tokens),
        Optional.ofNullable(budget).map(BigDecimal::new),
        Optional.ofNullable(budget).map(b -> "USD"), hard), 1);
  }

  /**
   * The prompt tokens a hard quota reserves for a one-message chat {@code body}: its bytes and
   * the template's allowance.
   */
  private static long promptBound(byte[] body) {
    return body.length + WorstCase.PER_CALL + WorstCase.PER_MESSAGE;
  }

  @Test
  void aHardMonthlyQuotaRefusesACallThatMayNotFitAndSettlesWhatWasUsed() {
    long worst = promptBound(chat("m", "hello world", 100)) + 100;
    long quota = 50 + 2 * worst - 1;
    plans.put("q", quotaPlan(quota, null, true));
    ledger.put("t:acme", new long[] {50, 0}); // used earlier this month, says the ledger
    Principal caller = caller("k1", "q", null);
    Admission.Ticket first = admit(caller, chat("m", "hello world", 100));
    OpenAiException refused = refusal(() -> admit(caller, chat("m", "hello world", 100)));
    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.code()).isEqualTo("insufficient_quota");
    assertThat(refused.getMessage()).contains("monthly token quota of tenant 'acme' (plan 'q')")
        .contains(quota + " tokens, of which " + (50 + worst) + " are used or reserved")
        .contains("may use up to " + worst);
    // Until the month ends: 2026-12-01T00:00Z is 36 hours after the clock's noon on the 29th.
    assertThat(refused.retryAfter()).contains(Long.toString(36 * 3600));
    first.settle(30, 0); // all but 30 of the reservation come back: 80 used
    Admission.Ticket second = admit(caller, chat("m", "hello world", 100));
    second.settle(worst, 0); // 80 + worst used: worst - 31 left
    assertThat(refusal(() -> admit(caller, chat("m", "hello world", 100))).getMessage())
        .contains("of which " + (80 + worst) + " are used");
    long left = quota - 80 - worst;
    assertThat(promptBound(chat("m", "hello world", 69)) + 69).isLessThanOrEqualTo(left);
    admit(caller, chat("m", "hello world", 69));
  }

  @Test
  void aCallWithoutMaxTokensReservesTheCapItIsSentWith() {
    plans.put("q", quotaPlan((long) WorstCase.DEFAULT_CAP, null, true));
    byte[] body = chat("m", "hi", null);
    assertThat(refusal(() -> admit(caller("k1", "q", null), body)).getMessage())
        .contains("may use up to " + (promptBound(body) + WorstCase.DEFAULT_CAP));
    plans.put("q", quotaPlan(1_000_000L, null, true));
    Admission.Ticket ticket = admit(caller("k1", "q", null), body);
    assertThat(new String(ticket.bodyToSend(body), StandardCharsets.UTF_8))
        .isEqualTo(new String(body, StandardCharsets.UTF_8).replaceFirst("}$",
            ",\"max_tokens\":" + WorstCase.DEFAULT_CAP + "}"));
    // A call that sets max_tokens, or that no hard quota holds, goes as it came.
    byte[] bounded = chat("m", "hi", 5);
    assertThat(admit(caller("k1", "q", null), bounded).bodyToSend(bounded)).isSameAs(bounded);
    plans.put("q", quotaPlan(1_000_000L, null, false));
    assertThat(admit(caller("k1", "q", null), body).bodyToSend(body)).isSameAs(body);
  }

  @Test
  void aBudgetReservesTheWorstCostAtTheModelsPrice() {
    prices.put("m", new Price("m", "USD", new BigDecimal("1000"), new BigDecimal("500"),
        new BigDecimal("2000"))); // 0.001 a prompt token, 0.002 a completion token
    plans.put("q", quotaPlan(null, "1.2", true));
    Principal caller = caller("k1", "q", null);
    long cost = promptBound(chat("m", "hello world", 100)) * 1_000_000L + 100 * 2_000_000L;
    Admission.Ticket a = admit(caller, chat("m", "hello world", 100));
    Admission.Ticket b = admit(caller, chat("m", "hello world", 100));
    OpenAiException refused = refusal(() -> admit(caller, chat("m", "hello world", 100)));
    assertThat(refused.getMessage()).contains("monthly budget of tenant 'acme' (plan 'q')")
        .contains("1.2 USD, of which " + Price.amount(2 * cost).stripTrailingZeros()
            .toPlainString() + " USD is used or reserved")
        .contains("may cost up to " + Price.amount(cost).stripTrailingZeros().toPlainString()
            + " USD");
    a.settle(19, 29_000_000L); // it cost 0.029: the rest comes back
    b.settle(19, 29_000_000L);
    admit(caller, chat("m", "hello world", 100));
    admit(caller, chat("m", "hello world", 100));
  }

  @Test
  void aHardQuotaReservesThePromptsBytesWhereTheEstimateSeesFewTokens() {
    // Regression (issue 13 item 5): 800 '=' are about a hundred tokens to OpenAI's tokenizers,
    // and the reservation was that; a tokenizer may make 800 of them.
    plans.put("q", quotaPlan(1_000_000L, null, true));
    byte[] body = chat("gpt-4o", "=".repeat(800), 16);
    assertThat(admission.estimatePrompt(InspectedRequest.inspect(Endpoint.CHAT_COMPLETIONS,
        body), body)).isLessThan(200);
    Admission.Ticket ticket = admit(caller("k1", "q", null), body);
    assertThat(ticket.estimatedPrompt()).as("not needed: nothing reserves the estimate").isEmpty();
    plans.put("q2", quotaPlan(promptBound(body) + 16 + promptBound(body) + 15, null, true));
    Principal other = caller("k2", null, "q2"); // the key's own counter: one call fits
    admit(other, body);
    assertThat(refusal(() -> admit(other, body)).getMessage())
        .contains("may use up to " + (promptBound(body) + 16));
  }

  @Test
  void nAndBestOfMultiplyTheCompletionAHardQuotaReserves() {
    plans.put("q", quotaPlan(1L, null, true));
    byte[] n = ("{\"model\":\"m\",\"n\":4,\"max_completion_tokens\":100,\"messages\":"
        + "[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8);
    assertThat(refusal(() -> admit(caller("k1", "q", null), n)).getMessage())
        .contains("may use up to " + (promptBound(n) + 400));
    byte[] bestOf = "{\"model\":\"m\",\"prompt\":[\"a\",\"b\"],\"n\":2,\"best_of\":3,\"max_tokens\":10}"
        .getBytes(StandardCharsets.UTF_8);
    OpenAiException refused = refusal(() -> admission.admit(caller("k1", "q", null),
        InspectedRequest.inspect(Endpoint.COMPLETIONS, bestOf), bestOf).join());
    // best_of 3 answers billed for each of the 2 prompts, 10 tokens each.
    assertThat(refused.getMessage()).contains("may use up to "
        + (bestOf.length + WorstCase.PER_CALL + 60));
  }

  @Test
  void aHardBudgetReservesAtTheDearestPriceOfTheModelAndItsFallbacks() {
    prices.put("m", new Price("m", "USD", new BigDecimal("1"), new BigDecimal("1"),
        new BigDecimal("1")));
    prices.put("dear", new Price("dear", "USD", new BigDecimal("1000"), new BigDecimal("1000"),
        new BigDecimal("1000")));
    prices.put("yuan", new Price("yuan", "CNY", new BigDecimal("9000"), new BigDecimal("9000"),
        new BigDecimal("9000")));
    plans.put("q", quotaPlan(null, "0.01", true));
    byte[] body = chat("m", "hi", 10);
    InspectedRequest request = InspectedRequest.inspect(Endpoint.CHAT_COMPLETIONS, body);
    admission.admit(caller("k1", "q", null), "m", request, body, List.of("yuan")).join();
    OpenAiException refused = refusal(() -> admission.admit(caller("k1", "q", null), "m",
        request, body, List.of("yuan", "dear")).join());
    assertThat(refused.getMessage()).contains("may cost up to " + Price.amount(
        (promptBound(body) + 10) * 1_000_000L).stripTrailingZeros().toPlainString() + " USD");
  }

  @Test
  void aHardBudgetReservesAtLeastWhatAnAnswerFromTheCacheCosts() {
    prices.put("m", new Price("m", "USD", BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ONE));
    Quota budget = new Quota(OptionalLong.empty(), Optional.of(new BigDecimal("0.4")),
        Optional.of("USD"), true);
    plans.put("q", new Plan("q", Limits.NONE, Set.of(), Map.of(), budget,
        io.modelway.gateway.scheduling.Priority.STANDARD, 1, new io.modelway.gateway.cache
        .CachePolicy(Optional.empty(), Optional.empty(), Optional.of(new BigDecimal("0.5")),
            "USD"), 1));
    assertThat(refusal(() -> admit(caller("k1", "q", null), chat("m", "hi", 10))).getMessage())
        .contains("may cost up to 0.5 USD");
  }

  @Test
  void aCostInAnotherCurrencyIsNotChargedToTheBudget() {
    prices.put("m", new Price("m", "USD", new BigDecimal("1000"), new BigDecimal("1000"),
        new BigDecimal("1000")));
    plans.put("q", quotaPlan(null, "10", true));
    Principal caller = caller("k1", "q", null);
    // A fallback priced in yuan answered: the ledger row is in CNY, the USD budget is not charged.
    admit(caller, chat("m", "hi", 10)).settle(20, 7_000_000_000L, Optional.of("CNY"));
    admit(caller, chat("m", "hi", 10)).settle(20, 20_000_000L, Optional.of("USD"));
    // A dear price makes the next call's refusal say what the month holds.
    prices.put("m", new Price("m", "USD", new BigDecimal("1000000"), new BigDecimal("1000000"),
        new BigDecimal("1000000")));
    assertThat(refusal(() -> admit(caller, chat("m", "hi", 10))).getMessage())
        .contains("of which 0.02 USD is used");
  }

  @Test
  void usageBeyondTheReservationIsChargedAllTheSame() {
    plans.put("q", quotaPlan(1000L, null, true));
    Principal caller = caller("k1", "q", null);
    Admission.Ticket ticket = admit(caller, chat("m", "hi", 10));
    ticket.settle(90_000, 0); // a backend reporting far more than the bound allows
    assertThat(refusal(() -> admit(caller, chat("m", "hi", 10))).getMessage())
        .contains("of which 90000 are used");
  }

  @Test
  void aModelPricedInAnotherCurrencyCannotBeChargedToAHardBudget() {
    prices.put("m", new Price("m", "CNY", BigDecimal.ONE, BigDecimal.ONE, BigDecimal.ONE));
    plans.put("q", quotaPlan(null, "10", true));
    OpenAiException refused = refusal(() -> admit(caller("k1", "q", null), chat("m", "hi", 5)));
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.code()).isEqualTo("budget_currency_mismatch");
  }

  @Test
  void aSoftQuotaServesTheCallAndMarksIt() {
    plans.put("q", quotaPlan(50L, null, false));
    Admission.Ticket ticket = admit(caller("k1", "q", null), chat("m", "hi", 100));
    assertThat(ticket.headers()).containsEntry("x-modelway-quota-exceeded",
        "tenant 'acme' (plan 'q') monthly tokens");
  }

  @Test
  void aRefusedQuotaGivesBackWhatTheCallTookElsewhere() {
    long quota = promptBound(chat("m", "hi", 1)) + 1; // enough for that call alone
    plans.put("team", new Plan("team", limits(10L, null, null), Set.of(), Map.of(),
        new Quota(OptionalLong.of(quota), Optional.empty(), Optional.empty(), true), 1));
    Principal caller = caller("k1", "team", null);
    refusal(() -> admit(caller, chat("m", "hello world", 100)));
    assertThat(admit(caller, chat("m", "hi", 1)).headers())
        .containsEntry("x-ratelimit-remaining-requests", "9");
  }

  @Test
  void concurrentCallsNeverReserveMoreThanAHardBudget() throws Exception {
    prices.put("m", new Price("m", "USD", new BigDecimal("1000"), BigDecimal.ZERO,
        new BigDecimal("1000")));
    long cost = (promptBound(chat("m", "hello world", 10)) + 10) * 1_000_000L;
    plans.put("q", quotaPlan(null, Price.amount(10 * cost).toPlainString(), true)); // 10 fit
    Principal caller = caller("k1", "q", null);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<CompletableFuture<Boolean>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(CompletableFuture.supplyAsync(() -> {
        try {
          admit(caller, chat("m", "hello world", 10));
          return true;
        } catch (CompletionException e) {
          return false;
        }
      }, pool));
    }
    assertThat(calls.stream().filter(CompletableFuture::join).count()).isEqualTo(10);
    pool.shutdown();
  }

  @Test
  void theLargestLimitsAreOnesTheCountersCanKeep() {
    // Regression: a billion requests and a trillion tokens a minute, which the admin API used to
    // accept, made Bucket4j refuse to build the bucket, and every call failed with a 500.
    plans.put("p", new Plan("p", limits(Limits.MAX, Limits.MAX, null), Set.of(), Map.of(), 1));
    assertThat(admit(caller("k1", "p", null), chat("m", "hi", 10)).headers())
        .containsEntry("x-ratelimit-limit-tokens", Long.toString(Limits.MAX));
  }

  @Test
  void formatsResetsAsOpenAiDoes() {
    assertThat(Admission.reset(Duration.ofMillis(20).toNanos())).isEqualTo("20ms");
    assertThat(Admission.reset(Duration.ofMillis(1500).toNanos())).isEqualTo("1.5s");
    assertThat(Admission.reset(Duration.ofSeconds(360).toNanos())).isEqualTo("6m0s");
    assertThat(Admission.reset(Duration.ofMillis(61_250).toNanos())).isEqualTo("1m1.25s");
  }
}
