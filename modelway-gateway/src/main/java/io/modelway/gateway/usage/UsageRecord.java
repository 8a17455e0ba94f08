package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What one request used. Immutable.
 *
 * @param id unique per request, made by the gateway; the ledger's key
 * @param at when the request arrived
 * @param requestId the {@code x-request-id} the client saw (the client's own, if it sent one)
 * @param backend the backend or instance that answered, when one was chosen
 * @param status the HTTP status the client got
 * @param outcome {@code completed}, {@code cancelled} (the client went away) or {@code failed}
 * @param usageReported whether the tokens are the backend's own count ({@code usage}) rather
 *     than counted by the gateway from the streamed chunks
 * @param ttftMillis time to the first byte of the answer, when there was one
 * @param costNanos what the call cost, in billionths of {@code currency}; empty when its model
 *     has no price
 * @param servedModel the model that answered in place of {@code model}, when a fallback did
 *     (see {@code models[].fallbacks})
 */
public record UsageRecord(String id, Instant at, String requestId, String tenantId,
    Optional<String> project, String keyId, String endpoint, String model,
    Optional<String> backend, int status, String outcome, long promptTokens,
    long completionTokens, long cachedTokens, boolean usageReported, long latencyMillis,
    OptionalLong ttftMillis, boolean cacheHit, Optional<String> traceId, OptionalLong costNanos,
    Optional<String> currency, Optional<String> servedModel) {

  /** A record of a call that its own model answered (no fallback). */
  public UsageRecord(String id, Instant at, String requestId, String tenantId,
      Optional<String> project, String keyId, String endpoint, String model,
      Optional<String> backend, int status, String outcome, long promptTokens,
      long completionTokens, long cachedTokens, boolean usageReported, long latencyMillis,
      OptionalLong ttftMillis, boolean cacheHit, Optional<String> traceId, OptionalLong costNanos,
      Optional<String> currency) {
    this(id, at, requestId, tenantId, project, keyId, endpoint, model, backend, status, outcome,
        promptTokens, completionTokens, cachedTokens, usageReported, latencyMillis, ttftMillis,
        cacheHit, traceId, costNanos, currency, Optional.empty());
  }

  public UsageRecord {
    requireNonNull(id, "id");
    requireNonNull(at, "at");
    requireNonNull(requestId, "requestId");
    requireNonNull(tenantId, "tenantId");
    requireNonNull(project, "project");
    requireNonNull(keyId, "keyId");
    requireNonNull(endpoint, "endpoint");
    requireNonNull(model, "model");
    requireNonNull(backend, "backend");
    requireNonNull(outcome, "outcome");
    requireNonNull(ttftMillis, "ttftMillis");
    requireNonNull(traceId, "traceId");
    requireNonNull(costNanos, "costNanos");
    requireNonNull(currency, "currency");
    requireNonNull(servedModel, "servedModel");
    if (costNanos.isPresent() != currency.isPresent()) {
      throw new IllegalArgumentException("costNanos and currency: both or neither");
    }
  }
}
