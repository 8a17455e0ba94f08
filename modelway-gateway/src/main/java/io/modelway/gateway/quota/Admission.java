package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.ConsumptionProbe;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.cache.CachePolicy;
import io.modelway.openai.InspectedRequest;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.concurrent.Executor;
import io.modelway.gateway.usage.Price;
import org.jspecify.annotations.Nullable;

/**
 * The Admit stage: holds a call to the plans of its tenant and of its key — calls at once,
 * calls per minute, tokens per minute, over every model and per model — before it goes to a
 * model, and answers with OpenAI's {@code x-ratelimit-*} headers.
 *
 * <p>Each plan that applies gives the call up to two rules: the plan's own limits, and its limits
 * for the called model. A call takes its place from every rule, in order — calls at once, then a
 * call from each per-minute window, then its estimated tokens (prompt, estimated by {@link
 * TokenEstimator}, plus {@code max_tokens}) — and what it took is given back when a later rule
 * refuses it, so a refused call uses up nothing. When the call ends, {@link Ticket#settle}
 * corrects the token windows with the tokens really used (taking more, or giving back the
 * difference) and frees its place.
 *
 * <p>Monthly quotas and budgets are reserved last. A hard one reserves the call's {@link
 * WorstCase} — prompt bounded by its bytes (or counted exactly by a model run here), {@code
 * max_tokens} for each of {@code n} (or {@code best_of}) answers, and a cap sent with a call that
 * sets none — so that no prompt can make a call use more than it reserved; only a backend that
 * reports more than that bound allows can take a month past its limit, and the month is charged
 * what it reported all the same. A soft one reserves the cheaper estimate.
 *
 * <p>Rules are checked one after the other, not in one transaction: two calls racing for the last
 * places of two shared rules may both be refused where one could have passed, but a rule never
 * admits more than its limit. Thread-safe.
 */
public final class Admission {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Admission.class);
  /** Completion tokens a call without {@code max_tokens} reserves against monthly quotas. */
  static final long DEFAULT_COMPLETION_RESERVE = 4096;

  /**
   * What a tenant or key used in a month before, from the ledger: {@code {tokens, billionths of
   * currency}}. Blocking (JDBC): run on {@code blocking}.
   */
  @FunctionalInterface
  public interface LedgerSums {
    long[] used(boolean key, String holder, Instant since, String currency);
  }

  private final Supplier<Map<String, Plan>> plans;
  private final Counters counters;
  private final TokenEstimator estimator;
  private final Function<String, Optional<Price>> prices;
  private final LedgerSums ledger;
  private final Executor blocking;
  private final Clock clock;
  private final MeterRegistry meters;
  private final ConcurrentMap<String, Counter> rejections = new ConcurrentHashMap<>();

  Admission(Supplier<Map<String, Plan>> plans, Counters counters,
      Function<String, Optional<Price>> prices, LedgerSums ledger, Executor blocking, Clock clock,
      MeterRegistry meters) {
    this(plans, counters, prices, ledger, model -> Optional.empty(), blocking, clock, meters);
  }

  /**
   * @param local the token counters of the models this process runs (exact prompt counts)
   */
  Admission(Supplier<Map<String, Plan>> plans, Counters counters,
      Function<String, Optional<Price>> prices, LedgerSums ledger,
      Function<String, Optional<io.modelway.runtime.TokenCounter>> local, Executor blocking,
      Clock clock, MeterRegistry meters) {
    this.plans = requireNonNull(plans, "plans");
    this.counters = requireNonNull(counters, "counters");
    this.prices = requireNonNull(prices, "prices");
    this.ledger = requireNonNull(ledger, "ledger");
    this.blocking = requireNonNull(blocking, "blocking");
    this.clock = requireNonNull(clock, "clock");
    this.meters = requireNonNull(meters, "meters");
    this.estimator = new TokenEstimator(local);
  }

  /** No limits: a worker's (its gateway admits the calls). */
  public static Admission unlimited(MeterRegistry meters) {
    return new Admission(Map::of, Counters.local(io.github.bucket4j.TimeMeter.SYSTEM_MILLISECONDS),
        model -> Optional.empty(), (key, holder, since, currency) -> new long[2], Runnable::run,
        Clock.systemUTC(), meters);
  }

  /**
   * Whether the plans of {@code principal} (its tenant's and its key's own) let it call
   * {@code model}: what admission refuses with {@code model_not_found}, so a listing can leave out
   * what a caller could not call. A plan deleted a moment ago allows everything, as here.
   */
  public boolean allows(Principal principal, String model) {
    Map<String, Plan> byId = plans.get();
    return Stream.of(principal.tenantPlan(), principal.plan())
        .flatMap(Optional::stream)
        .map(byId::get)
        .allMatch(plan -> plan == null || plan.allows(model));
  }

  /** The prompt tokens {@code body} will use, estimated as for the token limits. */
  public long estimatePrompt(InspectedRequest request, byte[] body) {
    return estimator.promptTokens(request, body);
  }

  /** A plan's monthly quota for one holder. */
  private record QuotaRule(boolean key, String holder, String named, Quota quota) {}

  /** An amount reserved against a month's counter. */
  private record Held(String counter, long amount, boolean shared, boolean money,
      boolean hard, String currency) {}

  /** A limit of one holder: the key its counters go by, and how a refusal names it. */
  private record Rule(String key, String holder, Limits limits, long revision) {
    /** {@code tenant} or {@code key}, as the rejection metric tags it. */
    String holderKind() {
      return key.startsWith("t:") ? "tenant" : "key";
    }
  }

  /** A per-minute window a call took from. */
  private record Taken(Counters.Window window, Rule rule, long limit, long amount,
      ConsumptionProbe probe) {}

  /** A window refused the call. */
  private static final class Refusal extends RuntimeException {
    final Rule rule;
    final boolean calls;
    final long limit;
    final long amount;
    final ConsumptionProbe probe;

    Refusal(Rule rule, boolean calls, long limit, long amount, ConsumptionProbe probe) {
      super(null, null, false, false);
      this.rule = rule;
      this.calls = calls;
      this.limit = limit;
      this.amount = amount;
      this.probe = probe;
    }
  }

  /**
   * Admits {@code request} (whose body is {@code body}) from {@code principal}, or fails with a
   * 429 {@link OpenAiException} naming the limit, with {@code Retry-After}.
   *
   * @throws OpenAiException 404 when a plan of the caller's does not include the model
   */
  public CompletableFuture<Ticket> admit(Principal principal, InspectedRequest request,
      byte[] body) {
    return admit(principal, request.model(), request, body);
  }

  /**
   * Admits {@code request} to the concrete model {@code request.model()}, called by the name
   * {@code asked} (an alias of it, or the same name): a plan's list of models must allow {@code
   * asked}; its limits per model, the token estimate and the price are {@code request.model()}'s.
   *
   * @throws OpenAiException 404 when a plan of the caller's does not include {@code asked}
   */
  public CompletableFuture<Ticket> admit(Principal principal, String asked,
      InspectedRequest request, byte[] body) {
    return admit(principal, asked, request, body, List.of());
  }

  /**
   * Admits {@code request} as {@link #admit(Principal, String, InspectedRequest, byte[])} does,
   * when {@code fallbacks} may answer in its place: a hard budget reserves the call's worst case
   * at the dearest of their prices and the model's.
   *
   * @throws OpenAiException 404 when a plan of the caller's does not include {@code asked}
   */
  public CompletableFuture<Ticket> admit(Principal principal, String asked,
      InspectedRequest request, byte[] body, List<String> fallbacks) {
    requireNonNull(fallbacks, "fallbacks");
    List<Rule> rules = new ArrayList<>(4);
    List<QuotaRule> quotas = new ArrayList<>(2);
    rules(principal, asked, request.model(), rules, quotas);
    if (rules.isEmpty() && quotas.isEmpty()) {
      return CompletableFuture.completedFuture(Ticket.NONE);
    }
    List<Counters.Place> entered = new ArrayList<>();
    List<Rule> perMinute = rules.stream()
        .filter(r -> r.limits().requestsPerMinute().isPresent()).toList();
    List<Rule> tokenRules = rules.stream()
        .filter(r -> r.limits().tokensPerMinute().isPresent()).toList();
    long maxTokens = request.maxTokens() == null ? 0 : request.maxTokens();
    // The estimate is for per-minute tokens and soft quotas; a hard quota reserves a bound.
    OptionalLong estimate = tokenRules.isEmpty() && quotas.stream().allMatch(q -> q.quota().hard())
        ? OptionalLong.empty() : OptionalLong.of(estimator.promptTokens(request, body));
    long prompt = estimate.orElse(0);
    long reserved = prompt + maxTokens;
    Optional<WorstCase> worst = quotas.stream().anyMatch(q -> q.quota().hard())
        ? Optional.of(estimator.worstCase(request, body)) : Optional.empty();
    List<Taken> calls = new ArrayList<>();
    List<Taken> tokens = new ArrayList<>();
    List<Held> held = new ArrayList<>();
    List<String> exceeded = new ArrayList<>();
    return enter(rules, entered)
        .thenCompose(ignored -> take(perMinute, true, 1, calls))
        .thenCompose(ignored -> take(tokenRules, false, reserved, tokens))
        .thenCompose(ignored -> reserve(quotas, request, prompt, worst, fallbacks,
            cacheAnswer(principal), held, exceeded))
        .handle((ignored, failure) -> {
          if (failure == null) {
            Map<String, String> headers = headers(calls, tokens, Optional.empty());
            if (!exceeded.isEmpty()) {
              headers.put("x-modelway-quota-exceeded", String.join(", ", exceeded));
            }
            return new Ticket(headers, tokens, entered, held, counters, estimate, worst);
          }
          giveBack(calls);
          giveBack(tokens);
          held.forEach(h -> counters.adjust(h.counter(), -h.amount(), h.shared()));
          entered.forEach(counters::leave);
          Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
          if (cause instanceof Refusal refusal) {
            throw refused(refusal, calls, tokens);
          }
          throw cause instanceof RuntimeException e ? e : new CompletionException(cause);
        });
  }

  private void rules(Principal principal, String asked, String model, List<Rule> rules,
      List<QuotaRule> quotas) {
    Map<String, Plan> byId = plans.get();
    addRules(rules, quotas, byId, principal.tenantPlan(), false, principal.tenantId(),
        "tenant '" + principal.tenantId() + "'", asked, model);
    addRules(rules, quotas, byId, principal.plan(), true, principal.keyId(),
        "key " + principal.keyId(), asked, model);
  }

  private static void addRules(List<Rule> rules, List<QuotaRule> quotas, Map<String, Plan> byId,
      Optional<String> planId, boolean isKey, String id, String holder, String asked,
      String model) {
    if (planId.isEmpty()) {
      return;
    }
    Plan plan = byId.get(planId.get());
    if (plan == null) {
      return; // deleted a moment ago; the store refuses to delete a plan in use
    }
    if (!plan.allows(asked)) {
      throw OpenAiException.modelNotFound(asked);
    }
    String key = (isKey ? "k:" : "t:") + id;
    String named = holder + " (plan '" + plan.id() + "')";
    if (plan.quota().any()) {
      quotas.add(new QuotaRule(isKey, id, named, plan.quota()));
    }
    String base = key + ":" + plan.id();
    if (plan.limits().any()) {
      rules.add(new Rule(base, named, plan.limits(), plan.revision()));
    }
    Limits forModel = plan.modelLimits().get(model);
    if (forModel != null && forModel.any()) {
      rules.add(new Rule(base + ":m:" + model, named + " for model '" + model + "'", forModel,
          plan.revision()));
    }
  }

  /** The cache policy whose price a cache hit of {@code principal}'s is charged. */
  private Optional<CachePolicy> cacheAnswer(Principal principal) {
    return Optional.of(Plan.cachePolicy(principal, plans.get())).filter(CachePolicy::any);
  }

  /** Takes a place among each rule's calls at once, in order; a 429 when one has none. */
  private CompletableFuture<Void> enter(List<Rule> rules, List<Counters.Place> entered) {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (Rule rule : rules) {
      if (rule.limits().maxConcurrent().isEmpty()) {
        continue;
      }
      int max = rule.limits().maxConcurrent().getAsInt();
      chain = chain.thenCompose(ignored -> counters.enter(rule.key() + ":c", max)
          .thenAccept(place -> {
            if (place.isEmpty()) {
              rejected(rule.holderKind(), "concurrent");
              throw OpenAiException.rateLimited("requests", "Too many calls at once for "
                  + rule.holder() + ": the limit is " + max + ". Wait for one to end, then retry.",
                  1, Map.of());
            }
            entered.add(place.get()); // one rule after another: never two at once
          }));
    }
    return chain;
  }

  /** Takes {@code amount} from each rule's window of calls (or of tokens), in order. */
  private CompletableFuture<Void> take(List<Rule> rules, boolean calls, long amount,
      List<Taken> taken) {
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (Rule rule : rules) {
      long limit = calls ? rule.limits().requestsPerMinute().getAsLong()
          : rule.limits().tokensPerMinute().getAsLong();
      chain = chain.thenCompose(ignored -> counters.take(rule.key() + (calls ? ":rq" : ":tk"),
          limit, rule.revision(), amount).thenAccept(took -> {
            if (!took.probe().isConsumed()) {
              throw new Refusal(rule, calls, limit, amount, took.probe());
            }
            taken.add(new Taken(took.window(), rule, limit, amount, took.probe()));
          }));
    }
    return chain;
  }

  /**
   * Reserves what each quota may need against the month's use, in order; a hard quota that
   * cannot fit refuses the call. A hard quota reserves the call's {@link WorstCase} — a bound
   * its real usage cannot pass — and its cost at the dearest price of the model and its
   * fallbacks in the budget's currency; a soft one the estimated prompt plus {@code max_tokens}
   * (else {@value #DEFAULT_COMPLETION_RESERVE}) tokens, and their cost at the model's price.
   */
  private CompletableFuture<Void> reserve(List<QuotaRule> quotas, InspectedRequest request,
      long prompt, Optional<WorstCase> worst, List<String> fallbacks,
      Optional<CachePolicy> cache, List<Held> held,
      List<String> exceeded) {
    long completion = request.maxTokens() == null ? DEFAULT_COMPLETION_RESERVE
        : request.maxTokens();
    long estimated = prompt + completion;
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    Instant since = month.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    Optional<Price> price = prices.apply(request.model());
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (QuotaRule rule : quotas) {
      String base = "q:" + (rule.key() ? "k:" : "t:") + rule.holder() + ":" + month;
      Quota quota = rule.quota();
      if (quota.monthlyTokens().isPresent()) {
        long limit = quota.monthlyTokens().getAsLong();
        long tokens = quota.hard() ? worst.orElseThrow().tokens() : estimated;
        chain = chain.thenCompose(ignored -> hold(rule, base + ":tokens", tokens, limit, false,
            () -> ledger.used(rule.key(), rule.holder(), since, "")[0], held, exceeded,
            month));
      }
      if (quota.monthlyBudget().isPresent()) {
        String currency = quota.currency().orElseThrow();
        if (price.isPresent() && !price.get().currency().equals(currency)) {
          if (quota.hard()) {
            return CompletableFuture.failedFuture(new OpenAiException(403, "permission_error",
                "The model '" + request.model() + "' is priced in " + price.get().currency()
                    + ", and the budget of " + rule.named() + " is in " + currency
                    + ": it cannot be charged. Ask an admin to price it in " + currency + ".",
                "model", "budget_currency_mismatch"));
          }
          continue;
        }
        OptionalLong dearest = !quota.hard() ? OptionalLong.empty()
            : Stream.concat(Stream.of(request.model()),
                    fallbacks.stream())
                .map(prices).flatMap(Optional::stream)
                .filter(p -> p.currency().equals(currency))
                .mapToLong(p -> worst.orElseThrow().costNanos(p)).max();
        if (quota.hard() && cache.isPresent() && cache.get().currency().equals(currency)
            && cache.get().answerNanos().isPresent()) { // an answer from the cache may cost more
          long hit = cache.get().answerNanos().getAsLong();
          dearest = OptionalLong.of(Math.max(dearest.orElse(0), hit));
        }
        if (quota.hard() ? dearest.isEmpty() : price.isEmpty()) {
          continue; // nothing it may call is charged to this budget
        }
        long cost = quota.hard() ? dearest.getAsLong()
            : price.get().costNanos(prompt, 0, completion);
        chain = chain.thenCompose(ignored -> hold(rule, base + ":" + currency, cost,
            quota.budgetNanos(), true,
            () -> ledger.used(rule.key(), rule.holder(), since, currency)[1], held, exceeded,
            month));
      }
    }
    return chain;
  }

  private CompletableFuture<Void> hold(QuotaRule rule, String counter, long amount, long limit,
      boolean money, Supplier<Long> seed, List<Held> held, List<String> exceeded,
      YearMonth month) {
    return counters.reserve(counter, amount, limit, rule.quota().hard(),
            () -> CompletableFuture.supplyAsync(seed, blocking))
        .thenAccept(reserved -> {
          if (!reserved.made()) {
            rejected(rule.key() ? "key" : "tenant", money ? "budget" : "monthly_tokens");
            String currency = rule.quota().currency().orElse("");
            throw OpenAiException.quotaExceeded((money
                ? "The monthly budget of " + rule.named() + " would be exceeded: "
                    + Price.amount(limit).stripTrailingZeros().toPlainString() + " " + currency
                    + ", of which " + Price.amount(reserved.usedBefore()).stripTrailingZeros()
                    .toPlainString() + " " + currency + " is used or reserved; this call may cost"
                    + " up to " + Price.amount(amount).stripTrailingZeros().toPlainString() + " "
                    + currency
                : "The monthly token quota of " + rule.named() + " would be exceeded: " + limit
                    + " tokens, of which " + reserved.usedBefore() + " are used or reserved;"
                    + " this call may use up to " + amount + " (prompt and max_tokens"
                    + (rule.quota().hard() ? ", each answer of n" : "") + ")")
                + ". Lower max_tokens, or ask an admin to raise the plan's quota.",
                Duration.between(clock.instant(), month.plusMonths(1).atDay(1)
                    .atStartOfDay(ZoneOffset.UTC).toInstant()).toSeconds());
          }
          held.add(new Held(counter, amount, reserved.shared(), money, rule.quota().hard(),
              money ? rule.quota().currency().orElseThrow() : ""));
          if (reserved.usedBefore() + amount > limit) {
            exceeded.add(rule.named() + (money ? " budget" : " monthly tokens"));
          }
        });
  }

  private static void giveBack(List<Taken> taken) {
    taken.forEach(t -> t.window().giveBack(t.amount()));
  }

  private OpenAiException refused(Refusal refusal, List<Taken> calls, List<Taken> tokens) {
    boolean isCalls = refusal.calls;
    String what = isCalls ? "requests" : "tokens";
    rejected(refusal.rule.holderKind(), what);
    long waitNanos = refusal.probe.getNanosToWaitForRefill();
    String message;
    if (!isCalls && refusal.amount > refusal.limit) {
      message = "This call needs about " + refusal.amount + " tokens (prompt and max_tokens),"
          + " more than the limit of " + refusal.limit + " tokens per minute for "
          + refusal.rule.holder() + ". Shorten the prompt or lower max_tokens.";
      waitNanos = Counters.WINDOW.toNanos();
    } else {
      message = "Rate limit reached for " + what + " per minute for " + refusal.rule.holder()
          + ": limit " + refusal.limit + ", remaining " + refusal.probe.getRemainingTokens()
          + (isCalls ? "" : ", requested " + refusal.amount) + ". Try again in "
          + reset(waitNanos) + ".";
    }
    return OpenAiException.rateLimited(what, message, seconds(waitNanos),
        headers(calls, tokens, Optional.of(refusal)));
  }

  private void rejected(String holder, String limit) {
    rejections.computeIfAbsent(holder + "/" + limit, k -> Counter.builder("modelway.ratelimit.rejected")
        .description("Calls refused by a plan's limits, by holder and limit")
        .tag("holder", holder)
        .tag("limit", limit)
        .register(meters)).increment();
  }

  /**
   * OpenAI's rate-limit headers for the tightest window of each kind: the one with the fewest
   * left (or the one that refused the call).
   */
  private static Map<String, String> headers(List<Taken> calls, List<Taken> tokens,
      Optional<Refusal> refusal) {
    Map<String, String> headers = new LinkedHashMap<>();
    put(headers, "requests", calls, refusal.filter(r -> r.calls));
    put(headers, "tokens", tokens, refusal.filter(r -> !r.calls));
    return headers;
  }

  private static void put(Map<String, String> headers, String kind, List<Taken> taken,
      Optional<Refusal> refusal) {
    long limit;
    long remaining;
    long resetNanos;
    if (refusal.isPresent()) {
      limit = refusal.get().limit;
      remaining = Math.max(0, refusal.get().probe.getRemainingTokens());
      resetNanos = refusal.get().probe.getNanosToWaitForReset();
    } else if (!taken.isEmpty()) {
      Taken tightest = taken.get(0);
      for (Taken t : taken) {
        if (t.probe().getRemainingTokens() < tightest.probe().getRemainingTokens()) {
          tightest = t;
        }
      }
      limit = tightest.limit();
      remaining = Math.max(0, tightest.probe().getRemainingTokens());
      resetNanos = tightest.probe().getNanosToWaitForReset();
    } else {
      return;
    }
    headers.put("x-ratelimit-limit-" + kind, Long.toString(limit));
    headers.put("x-ratelimit-remaining-" + kind, Long.toString(remaining));
    headers.put("x-ratelimit-reset-" + kind, reset(resetNanos));
  }

  private static long seconds(long nanos) {
    return Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
  }

  /** A duration as OpenAI writes it in {@code x-ratelimit-reset-*}: {@code 20ms}, {@code 1.5s}, {@code 6m0s}. */
  static String reset(long nanos) {
    long millis = Math.max(0, (nanos + 999_999L) / 1_000_000L);
    if (millis < 1000) {
      return millis + "ms";
    }
    long minutes = TimeUnit.MILLISECONDS.toMinutes(millis);
    String seconds = BigDecimal.valueOf(millis % 60_000, 3).stripTrailingZeros().toPlainString();
    return minutes > 0 ? minutes + "m" + seconds + "s" : seconds + "s";
  }

  /**
   * What an admitted call holds: its place among the calls at once and the tokens it reserved.
   * {@link #settle} gives them back when the call ends; later calls do nothing.
   */
  public static final class Ticket {
    static final Ticket NONE = new Ticket(Map.of(), List.of(), List.of(), List.of(), null,
        OptionalLong.empty(), Optional.empty());

    private final Map<String, String> headers;
    private final List<Taken> tokens;
    private final List<Counters.Place> entered;
    private final List<Held> held;
    private final @Nullable Counters counters;
    private final OptionalLong estimatedPrompt;
    private final Optional<WorstCase> worst;
    private final AtomicBoolean settled = new AtomicBoolean();

    private Ticket(Map<String, String> headers, List<Taken> tokens, List<Counters.Place> entered,
        List<Held> held, @Nullable Counters counters, OptionalLong estimatedPrompt,
        Optional<WorstCase> worst) {
      this.worst = worst;
      this.held = List.copyOf(held);
      this.estimatedPrompt = estimatedPrompt;
      this.headers = Map.copyOf(headers);
      this.tokens = List.copyOf(tokens);
      this.entered = List.copyOf(entered);
      this.counters = counters;
    }

    /** The {@code x-ratelimit-*} headers of the answer; empty when no limit applies. */
    public Map<String, String> headers() {
      return headers;
    }

    /** The prompt tokens estimated at admission; empty when no limit needed them. */
    public OptionalLong estimatedPrompt() {
      return estimatedPrompt;
    }

    /**
     * {@code body}, the request admitted, as it must go to the model: a call held to a hard quota
     * that set no {@code max_tokens} gets {@value WorstCase#DEFAULT_CAP}, which its reservation
     * counted on, as its last field; any other body is returned as it is.
     */
    public byte[] bodyToSend(byte[] body) {
      return worst.isEmpty() ? body : worst.get().capped(body);
    }

    /**
     * The call ended having used {@code usedTokens} (prompt and completion) costing {@code
     * costNanos} billionths of the currency of every budget it was reserved against.
     */
    public void settle(long usedTokens, long costNanos) {
      settle(usedTokens, costNanos, Optional.empty());
    }

    /**
     * The call ended having used {@code usedTokens} (prompt and completion) costing {@code
     * costNanos} billionths of {@code currency} (empty: of each budget's): the token windows and
     * the month's use are charged the difference from what was reserved — a budget in another
     * currency is charged nothing, as the ledger's sums by currency have it — and the call's
     * place is freed.
     */
    public void settle(long usedTokens, long costNanos, Optional<String> currency) {
      if (this == NONE || !settled.compareAndSet(false, true)) {
        return;
      }
      for (Held h : held) {
        long cost = currency.isEmpty() || currency.get().equals(h.currency()) ? costNanos : 0;
        long delta = (h.money() ? cost : usedTokens) - h.amount();
        if (delta > 0 && h.hard()) {
          // Only a backend that reports more than a bound allows (or a price raised meanwhile)
          // gets here: the month is charged what the ledger says all the same.
          log.warn("A call used more than its worst case was reserved for ({} > {} on {}): the"
              + " month is charged the real usage", h.amount() + delta, h.amount(), h.counter());
        }
        if (delta != 0) {
          requireNonNull(counters).adjust(h.counter(), delta, h.shared());
        }
      }
      for (Taken t : tokens) {
        long more = usedTokens - t.amount();
        if (more > 0) {
          t.window().charge(more);
        } else if (more < 0) {
          t.window().giveBack(-more);
        }
      }
      if (counters != null) {
        entered.forEach(counters::leave);
      }
    }
  }
}
