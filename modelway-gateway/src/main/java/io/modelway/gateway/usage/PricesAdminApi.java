package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.auth.Authentication;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.util.Set;
import java.util.concurrent.Callable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Prices over HTTP: a platform admin sets and removes them, a tenant admin reads them. A model
 * name may hold slashes ({@code openai/gpt-4o}).
 *
 * <pre>
 * PUT    /admin/v1/prices/{model}  {"currency": "USD", "input": 2.5, "cached_input": 1.25, "output": 10}
 * GET    /admin/v1/prices
 * DELETE /admin/v1/prices/{model}
 * </pre>
 */
final class PricesAdminApi {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Set<String> FIELDS =
      Set.of("model", "object", "currency", "input", "cached_input", "output");

  private final Prices prices;
  private final Authentication authentication;
  private final Scheduler blocking;

  PricesAdminApi(Prices prices, Authentication authentication, Scheduler blocking) {
    this.prices = requireNonNull(prices, "prices");
    this.authentication = requireNonNull(authentication, "authentication");
    this.blocking = requireNonNull(blocking, "blocking");
  }

  RouterFunction<ServerResponse> routes() {
    return RouterFunctions.route()
        .GET("/admin/v1/prices", this::list)
        .PUT("/admin/v1/prices/{*model}", this::put)
        .DELETE("/admin/v1/prices/{*model}", this::delete)
        .build();
  }

  private Principal caller(ServerRequest request, Role role) {
    return authentication.require(request.headers().firstHeader(HttpHeaders.AUTHORIZATION), role);
  }

  private static String model(ServerRequest request) {
    String model = request.pathVariable("model");
    return model.startsWith("/") ? model.substring(1) : model;
  }

  private Mono<ServerResponse> put(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String model = model(request);
      if (model.isBlank()) {
        return Mono.error(OpenAiException.invalidRequest("The path must name a model.", "model"));
      }
      AdminCalls.name(model, "model");
      return AdminCalls.body(request, FIELDS)
          .flatMap(json -> {
            Price price = read(model, json);
            return run(HttpStatus.OK, () -> write(prices.put(price, caller)));
          });
    });
  }

  private Mono<ServerResponse> delete(ServerRequest request) {
    return Mono.defer(() -> {
      Principal caller = caller(request, Role.PLATFORM_ADMIN);
      String model = model(request);
      return run(HttpStatus.OK, () -> {
        prices.delete(model, caller);
        return JSON.createObjectNode().put("model", model).put("object", "price")
            .put("deleted", true);
      });
    });
  }

  private Mono<ServerResponse> list(ServerRequest request) {
    return Mono.defer(() -> {
      caller(request, Role.TENANT_ADMIN);
      return run(HttpStatus.OK, () -> {
        ArrayNode data = JSON.createArrayNode();
        prices.list().forEach(p -> data.add(write(p)));
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        list.set("data", data);
        return list;
      });
    });
  }

  private static Price read(String model, JsonNode json) {
    for (String field : json.propertyNames()) {
      if (!FIELDS.contains(field)) {
        throw OpenAiException.invalidRequest("Unknown field '" + field + "' (expected: currency,"
            + " input, cached_input, output).", field);
      }
    }
    JsonNode currency = json.path("currency");
    if (!currency.isString()) {
      throw OpenAiException.invalidRequest("'currency' is required: an ISO 4217 code such as USD"
          + " or CNY.", "currency");
    }
    BigDecimal input = amount(json, "input", null);
    BigDecimal output = amount(json, "output", null);
    BigDecimal cached = amount(json, "cached_input", input);
    try {
      return new Price(model, currency.asString(), input, cached, output);
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().substring(0, e.getMessage().indexOf(':'));
      throw OpenAiException.invalidRequest("'" + field + "': " + e.getMessage()
          .substring(field.length() + 2) + ".", field);
    }
  }

  private static BigDecimal amount(JsonNode json, String field, BigDecimal fallback) {
    JsonNode value = json.path(field);
    if ((value.isMissingNode() || value.isNull()) && fallback != null) {
      return fallback;
    }
    if (!value.isNumber()) {
      throw OpenAiException.invalidRequest("'" + field + "' is required: the price per million"
          + " tokens, such as 0.15.", field);
    }
    return value.decimalValue();
  }

  private static ObjectNode write(Price p) {
    return JSON.createObjectNode().put("model", p.model()).put("object", "price")
        .put("currency", p.currency()).put("input", p.input().stripTrailingZeros())
        .put("cached_input", p.cachedInput().stripTrailingZeros())
        .put("output", p.output().stripTrailingZeros());
  }

  private Mono<ServerResponse> run(HttpStatus status, Callable<ObjectNode> work) {
    return AdminCalls.run(blocking, status, work);
  }
}
