package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * {@code GET /admin/v1/usage}: the ledger's records and their totals, filtered by {@code tenant},
 * {@code key}, {@code model}, {@code request_id}, {@code from} and {@code to} (ISO-8601 instants,
 * {@code to} exclusive), newest first, at most {@code limit} (default 100, at most 10000) rows;
 * {@code format=csv} answers CSV. A platform admin sees every tenant, a tenant admin its own
 * tenant, a member its own key; a {@code tenant} (or, for a member, {@code key}) filter beyond
 * that is a 404, never silently replaced. A tenant admin's {@code key} filter is taken within its
 * tenant: another tenant's key matches no row.
 */
final class UsageAdminApi {
  private static final JsonFactory JSON = new JsonFactory();

  private final UsageLedger ledger;
  private final Authentication authentication;
  private final Scheduler blocking;

  UsageAdminApi(UsageLedger ledger, Authentication authentication, Scheduler blocking) {
    this.ledger = requireNonNull(ledger, "ledger");
    this.authentication = requireNonNull(authentication, "authentication");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route().GET("/admin/v1/usage", this::usage).build();
  }

  private Mono<ServerResponse> usage(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = authentication.authenticate(
          request.headers().firstHeader(HttpHeaders.AUTHORIZATION));
      Optional<String> tenant = request.queryParam("tenant");
      Optional<String> key = request.queryParam("key");
      if (caller.role() != Role.PLATFORM_ADMIN) {
        if (tenant.isPresent() && !tenant.get().equals(caller.tenantId())) {
          return Mono.error(notFound("tenant", tenant.get()));
        }
        tenant = Optional.of(caller.tenantId());
      }
      if (caller.role() == Role.MEMBER) {
        if (key.isPresent() && !key.get().equals(caller.keyId())) {
          return Mono.error(notFound("key", key.get()));
        }
        key = Optional.of(caller.keyId());
      }
      UsageLedger.Filter filter = new UsageLedger.Filter(tenant, key,
          request.queryParam("model"), request.queryParam("request_id"),
          instant(request, "from"), instant(request, "to"), limit(request));
      boolean csv = request.queryParam("format").map("csv"::equals).orElse(false);
      return Mono.fromCallable(() -> csv ? csv(ledger.query(filter)) : json(filter))
          .subscribeOn(blocking)
          .flatMap(body -> ServerResponse.ok()
              .contentType(csv ? new MediaType("text", "csv", StandardCharsets.UTF_8)
                  : MediaType.APPLICATION_JSON)
              .bodyValue(body));
    });
  }

  private byte[] json(UsageLedger.Filter filter) {
    List<UsageRecord> rows = ledger.query(filter);
    UsageLedger.Totals totals = ledger.totals(filter);
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + rows.size() * 384);
    try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
      g.writeStartObject();
      g.writeStringProperty("object", "list");
      g.writeName("data");
      g.writeStartArray();
      rows.forEach(r -> UsageSpool.write(g, r));
      g.writeEndArray();
      g.writeName("totals");
      g.writeStartObject();
      g.writeNumberProperty("requests", totals.requests());
      g.writeNumberProperty("prompt_tokens", totals.promptTokens());
      g.writeNumberProperty("completion_tokens", totals.completionTokens());
      g.writeNumberProperty("cached_tokens", totals.cachedTokens());
      g.writeName("cost");
      g.writeStartObject();
      totals.costNanos().forEach((currency, nanos) ->
          g.writeNumberProperty(currency, Price.amount(nanos)));
      g.writeEndObject();
      g.writeEndObject();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  static byte[] csv(List<UsageRecord> records) {
    StringBuilder out = new StringBuilder("id,at,request_id,tenant,project,key_id,endpoint,model,"
        + "backend,status,outcome,prompt_tokens,completion_tokens,cached_tokens,usage_reported,"
        + "latency_ms,ttft_ms,cache_hit,trace_id,cost,currency,served_model\r\n");
    for (UsageRecord r : records) {
      out.append(cell(r.id())).append(',').append(r.at()).append(',').append(cell(r.requestId()))
          .append(',').append(cell(r.tenantId())).append(',').append(cell(r.project().orElse("")))
          .append(',').append(cell(r.keyId())).append(',').append(cell(r.endpoint())).append(',')
          .append(cell(r.model())).append(',').append(cell(r.backend().orElse(""))).append(',')
          .append(r.status()).append(',').append(r.outcome()).append(',').append(r.promptTokens())
          .append(',').append(r.completionTokens()).append(',').append(r.cachedTokens()).append(',')
          .append(r.usageReported()).append(',').append(r.latencyMillis()).append(',')
          .append(r.ttftMillis().isPresent() ? Long.toString(r.ttftMillis().getAsLong()) : "")
          .append(',').append(r.cacheHit()).append(',').append(cell(r.traceId().orElse("")))
          .append(',').append(r.costNanos().isPresent()
              ? Price.amount(r.costNanos().getAsLong()).toPlainString() : "")
          .append(',').append(r.currency().orElse(""))
          .append(',').append(cell(r.servedModel().orElse("")))
          .append("\r\n");
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** RFC 4180 quoting, and a leading quote on cells a spreadsheet would run as formulas. */
  private static String cell(String value) {
    String v = !value.isEmpty() && "=+-@".indexOf(value.charAt(0)) >= 0 ? "'" + value : value;
    if (v.indexOf(',') >= 0 || v.indexOf('"') >= 0 || v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0) {
      return '"' + v.replace("\"", "\"\"") + '"';
    }
    return v;
  }

  /**
   * A filter the caller may not use: answered as if its target did not exist, never ignored (a
   * script would take the caller's own rows for the ones it asked for).
   */
  private static OpenAiException notFound(String param, String value) {
    return new OpenAiException(404, "invalid_request_error", "No " + param + " '" + value + "'.",
        param, "not_found");
  }

  private static Optional<Instant> instant(ServerRequest request, String name) {
    return request.queryParam(name).map(text -> {
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw OpenAiException.invalidRequest("'" + name + "' must be an ISO-8601 instant such as"
            + " 2026-11-01T00:00:00Z, not '" + text + "'.", name);
      }
    });
  }

  private static int limit(ServerRequest request) {
    return request.queryParam("limit").map(text -> {
      try {
        int n = Integer.parseInt(text);
        if (n >= 1 && n <= 10_000) {
          return n;
        }
      } catch (NumberFormatException e) {
        // below
      }
      throw OpenAiException.invalidRequest("'limit' must be 1 to 10000.", "limit");
    }).orElse(100);
  }
}
