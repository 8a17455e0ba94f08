package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Principal;
import io.modelway.openai.Endpoint;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The Account stage: one {@link Account} per request, which meters the answer as it passes and
 * writes exactly one usage record when the request ends — durably before the client gets the
 * end of a completed answer, in the background for one that was cancelled or failed.
 */
public final class Accounting {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final @Nullable UsageSpool spool;
  private final Function<String, Optional<Price>> prices;
  private final Clock clock;
  private final FailedCalls failedCalls;

  private Accounting(@Nullable UsageSpool spool, Function<String, Optional<Price>> prices,
      Clock clock, FailedCalls failedCalls) {
    this.spool = spool;
    this.prices = prices;
    this.clock = clock;
    this.failedCalls = failedCalls;
  }

  /**
   * Accounting into {@code spool}, each call priced by {@code prices} (by model); each failed
   * call logged in one line ({@link FailedCalls#logging()}).
   */
  public static Accounting into(UsageSpool spool, Function<String, Optional<Price>> prices,
      Clock clock) {
    return into(spool, prices, clock, FailedCalls.logging());
  }

  /** {@link #into(UsageSpool, Function, Clock)}, failed calls going to {@code failedCalls}. */
  public static Accounting into(UsageSpool spool, Function<String, Optional<Price>> prices,
      Clock clock, FailedCalls failedCalls) {
    return new Accounting(requireNonNull(spool, "spool"), requireNonNull(prices, "prices"),
        requireNonNull(clock, "clock"), requireNonNull(failedCalls, "failedCalls"));
  }

  /**
   * No accounting: a worker's (its gateway accounts for the calls). Failed calls are still
   * logged.
   */
  public static Accounting none() {
    return none(FailedCalls.logging());
  }

  static Accounting none(FailedCalls failedCalls) {
    return new Accounting(null, model -> Optional.empty(), Clock.systemUTC(), failedCalls);
  }

  /**
   * A call refused before it had an account (no valid key): logged as a failed call without
   * model, backend or tenant.
   */
  public void refused(String requestId, int status, String reason) {
    if (FailedCalls.isFailure(status, "failed")) {
      failedCalls.failed(requestId, status, "", "", "", reason);
    }
  }

  /**
   * A record id: the time in milliseconds, then 96 random bits. Not {@code UUID.randomUUID()},
   * whose {@code SecureRandom} may read {@code /dev/urandom} on the event loop.
   */
  static String newId(Instant at) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return id(at.toEpochMilli(), random.nextInt(), random.nextLong());
  }

  /**
   * {@code u}, {@code millis} in 11 hex digits (enough until the year 2527), then {@code high}
   * in 8 and {@code low} in 16: what {@code String.format("u%011x%08x%016x", ...)} wrote, at a
   * fraction of its cost.
   */
  static String id(long millis, int high, long low) {
    char[] id = new char[36];
    id[0] = 'u';
    hex(millis, 11, id, 1);
    hex(high, 8, id, 12);
    hex(low, 16, id, 20);
    return new String(id);
  }

  private static void hex(long value, int digits, char[] into, int at) {
    for (int i = at + digits - 1; i >= at; i--) {
      into[i] = HEX[(int) value & 0xf];
      value >>>= 4;
    }
  }

  /** Whether {@code chunk} of a stream ends with its {@code data: [DONE]} event. */
  public static boolean endsStream(byte[] chunk) {
    return Metering.endsWithDone(chunk);
  }

  public Account open(Principal principal, String requestId, Endpoint endpoint) {
    return new Account(principal, requestId, endpoint, clock.instant(), System.nanoTime());
  }

  /** One request's account. Its methods are called in order by the request's pipeline. */
  public final class Account {
    private final Principal principal;
    private final String requestId;
    private final Endpoint endpoint;
    private final Instant at;
    private final long started;
    private final Metering metering = new Metering();
    private final AtomicBoolean written = new AtomicBoolean();
    private String model = "";
    private Optional<String> backend = Optional.empty();
    private Optional<String> servedModel = Optional.empty();
    private long firstByte = -1;
    private boolean cacheHit;
    private OptionalLong hitCost = OptionalLong.empty();
    private String hitCurrency = "USD";
    private LongSupplier promptEstimate = () -> 0;
    private volatile Consumer<UsageRecord> onEnd = record -> { };
    private @Nullable String reason;

    private Account(Principal principal, String requestId, Endpoint endpoint, Instant at,
        long started) {
      this.principal = principal;
      this.requestId = requestId;
      this.endpoint = endpoint;
      this.at = at;
      this.started = started;
    }

    public void model(String name) {
      model = name;
    }

    public void backend(String name) {
      backend = Optional.of(name);
    }

    /** A fallback model answers in place of the one asked for (its price applies). */
    public void servedModel(String name) {
      servedModel = Optional.of(name);
    }

    /**
     * The gateway's estimate of the prompt tokens, asked for only when the backend does not report
     * its own count (a stream without a usage chunk, one cut short): the record then carries it,
     * marked {@code usageReported: false}.
     */
    public void promptEstimate(LongSupplier tokens) {
      promptEstimate = requireNonNull(tokens, "tokens");
    }

    /** Runs {@code listener} with the request's record when it ends, once, however it ends. */
    public void onEnd(Consumer<UsageRecord> listener) {
      onEnd = requireNonNull(listener, "listener");
    }

    /**
     * The answer comes from the response cache: the record carries no model tokens, the backend
     * {@code cache}, and the plan's price of a cached answer ({@code costNanos} billionths of
     * {@code currency}; empty: no cost).
     */
    public void cacheHit(OptionalLong costNanos, String currency) {
      cacheHit = true;
      backend = Optional.of("cache");
      hitCost = requireNonNull(costNanos, "costNanos");
      hitCurrency = requireNonNull(currency, "currency");
    }

    /** Some whole events of a streamed answer, as they pass to the client. */
    public void events(byte[] chunk) {
      if (firstByte < 0) {
        firstByte = System.nanoTime();
      }
      if (!cacheHit) { // a cached answer is recorded with no model tokens: nothing to count
        metering.events(chunk);
      }
    }

    /** A whole answer, before it goes to the client. */
    public void whole(byte[] body) {
      if (firstByte < 0) {
        firstByte = System.nanoTime();
      }
      if (!cacheHit) {
        metering.whole(body);
      }
    }

    /**
     * The answer is complete: writes the record and completes once it is in the spool; the end
     * of the answer must wait for it. Later calls do nothing.
     */
    public CompletableFuture<Void> completed(int status) {
      return write(status, "completed");
    }

    /** The answer ended otherwise ({@code cancelled} or {@code failed}); written in the background. */
    public void ended(int status, String outcome) {
      write(status, outcome);
    }

    /**
     * The call failed with {@code error} (its status {@code status}): {@link #ended} with the
     * error's message as the reason of the failed-call log line.
     */
    public void failed(int status, Throwable error) {
      reason = String.valueOf(error.getMessage() == null ? error : error.getMessage());
      write(status, "failed");
    }

    private CompletableFuture<Void> write(int status, String outcome) {
      if (!written.compareAndSet(false, true)) {
        return DONE;
      }
      long now = System.nanoTime();
      long prompt = cacheHit ? 0
          : metering.reported ? metering.promptTokens : promptEstimate.getAsLong();
      long completion = cacheHit ? 0 : metering.completion();
      long cachedTokens = cacheHit ? 0 : metering.cachedTokens;
      Optional<Price> price = cacheHit ? Optional.empty()
          : prices.apply(servedModel.orElse(model));
      UsageRecord record = new UsageRecord(newId(at), at, requestId,
          principal.tenantId(), principal.project(), principal.keyId(),
          endpoint.path().substring(1), model, backend, status, outcome, prompt, completion,
          cachedTokens, cacheHit || metering.reported,
          TimeUnit.NANOSECONDS.toMillis(now - started),
          firstByte < 0 ? OptionalLong.empty()
              : OptionalLong.of(TimeUnit.NANOSECONDS.toMillis(firstByte - started)),
          cacheHit, Optional.empty(),
          cacheHit ? hitCost : price.isEmpty() ? OptionalLong.empty()
              : OptionalLong.of(price.get().costNanos(prompt, cachedTokens, completion)),
          cacheHit ? (hitCost.isPresent() ? Optional.of(hitCurrency) : Optional.empty())
              : price.map(Price::currency), servedModel);
      onEnd.accept(record);
      if (FailedCalls.isFailure(status, outcome)) {
        failedCalls.failed(requestId, status, model, backend.orElse(""), principal.tenantId(),
            reason != null ? reason : "the backend answered " + status);
      }
      return spool == null ? DONE : spool.append(record);
    }
  }
}
