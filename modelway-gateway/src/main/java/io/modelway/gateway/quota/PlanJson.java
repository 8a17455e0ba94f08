package io.modelway.gateway.quota;

import io.modelway.gateway.auth.AdminCalls;
import io.modelway.gateway.cache.CachePolicy;
import io.modelway.gateway.catalog.ModelwayConfig.CacheMode;
import io.modelway.gateway.scheduling.Priority;
import io.modelway.openai.OpenAiException;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A plan's JSON form, the same in the admin API and in the store's {@code model_limits} column:
 * {@code {"id", "requests_per_minute", "tokens_per_minute", "max_concurrent", "models": [...],
 * "model_limits": {"MODEL": {"requests_per_minute", ...}}, "priority", "weight", "cache":
 * {"mode", "semantic", "answer_price", "currency"}}. Parsing fails with a 400 that names
 * the field.
 */
final class PlanJson {
  static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Set<String> LIMIT_FIELDS =
      Set.of("requests_per_minute", "tokens_per_minute", "max_concurrent");
  static final Set<String> FIELDS = Set.of("id", "object", "requests_per_minute",
      "tokens_per_minute", "max_concurrent", "models", "model_limits", "monthly_tokens",
      "monthly_budget", "budget_currency", "budget_mode", "priority", "weight", "cache",
      "revision", "offered_to");
  private static final Set<String> CACHE_FIELDS =
      Set.of("mode", "semantic", "answer_price", "currency");

  /** What the store's {@code allowed_models} and {@code model_limits} columns hold. */
  private static final int MAX_MODELS = 4000;
  private static final int MAX_MODEL_LIMITS = 8000;

  /** The largest monthly token quota: a quadrillion, far from overflowing a counter. */
  static final long MAX_MONTHLY_TOKENS = 1_000_000_000_000_000L;

  private PlanJson() {}

  /** The plan {@code id} as {@code json} describes it, at {@code revision}. */
  static Plan read(String id, JsonNode json, long revision) {
    if (!json.isObject()) {
      throw OpenAiException.invalidRequest("The body must be a JSON object.", null);
    }
    for (String field : json.propertyNames()) {
      if (!FIELDS.contains(field)) {
        throw OpenAiException.invalidRequest("Unknown field '" + field + "' (expected: "
            + FIELDS.stream().sorted().toList() + ").", field);
      }
    }
    if (!Plan.validId(id)) {
      throw OpenAiException.invalidRequest("'id' must be 1 to 64 lower-case letters, digits, '-',"
          + " '_' or '.', starting with a letter or digit.", "id");
    }
    Set<String> models = new LinkedHashSet<>();
    JsonNode list = json.path("models");
    if (!list.isMissingNode() && !list.isNull()) {
      if (!list.isArray()) {
        throw OpenAiException.invalidRequest("'models' must be an array of model names.", "models");
      }
      for (JsonNode m : list) {
        if (!m.isString() || m.asString().isBlank()) {
          throw OpenAiException.invalidRequest("'models' must hold model names.", "models");
        }
        models.add(m.asString());
      }
      AdminCalls.fits(models, MAX_MODELS, "models");
    }
    Map<String, Limits> perModel = new LinkedHashMap<>();
    JsonNode byModel = json.path("model_limits");
    if (!byModel.isMissingNode() && !byModel.isNull()) {
      if (!byModel.isObject()) {
        throw OpenAiException.invalidRequest("'model_limits' must be an object: model name to"
            + " limits.", "model_limits");
      }
      for (Map.Entry<String, JsonNode> e : byModel.properties()) {
        perModel.put(e.getKey(), limits(e.getValue(), "model_limits." + e.getKey() + "."));
      }
    }
    Plan plan = new Plan(id, limits(json, ""), models, perModel, quota(json), priority(json),
        (int) positive(json, "", "weight", Plan.MAX_WEIGHT).orElse(1), cache(json.path("cache")),
        revision);
    int stored = modelLimits(plan).toString().length();
    if (stored > MAX_MODEL_LIMITS) {
      throw OpenAiException.invalidRequest("'model_limits' takes " + stored + " characters as"
          + " stored (expected: at most " + MAX_MODEL_LIMITS + ").", "model_limits");
    }
    return plan;
  }

  /** The {@code cache} object of a plan: what it says of the response cache. */
  static CachePolicy cache(JsonNode cache) {
    if (cache.isMissingNode() || cache.isNull()) {
      return CachePolicy.NONE;
    }
    if (!cache.isObject()) {
      throw OpenAiException.invalidRequest("'cache' must be an object such as {\"mode\":"
          + " \"always\", \"semantic\": true, \"answer_price\": 0.0001}.", "cache");
    }
    for (String field : cache.propertyNames()) {
      if (!CACHE_FIELDS.contains(field)) {
        throw OpenAiException.invalidRequest("Unknown field 'cache." + field + "' (expected: "
            + CACHE_FIELDS.stream().sorted().toList() + ").", "cache." + field);
      }
    }
    JsonNode mode = cache.path("mode");
    Optional<CacheMode> parsed = Optional.empty();
    if (!mode.isMissingNode() && !mode.isNull()) {
      parsed = Arrays.stream(CacheMode.values()).filter(m -> m.label().equals(mode.asString("")))
          .findFirst();
      if (parsed.isEmpty()) {
        throw OpenAiException.invalidRequest("'cache.mode' must be off, deterministic or always.",
            "cache.mode");
      }
    }
    JsonNode semantic = cache.path("semantic");
    if (!semantic.isMissingNode() && !semantic.isNull() && !semantic.isBoolean()) {
      throw OpenAiException.invalidRequest("'cache.semantic' must be true or false.",
          "cache.semantic");
    }
    JsonNode price = cache.path("answer_price");
    if (!price.isMissingNode() && !price.isNull() && !price.isNumber()) {
      throw OpenAiException.invalidRequest("'cache.answer_price' must be an amount such as"
          + " 0.0001.", "cache.answer_price");
    }
    try {
      return new CachePolicy(parsed,
          semantic.isBoolean() ? Optional.of(semantic.booleanValue()) : Optional.empty(),
          price.isNumber() ? Optional.of(price.decimalValue()) : Optional.empty(),
          cache.path("currency").asString("USD"));
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().substring(0, e.getMessage().indexOf(':'));
      throw OpenAiException.invalidRequest("'cache." + field + "': "
          + e.getMessage().substring(field.length() + 2) + ".", "cache." + field);
    }
  }

  /** The {@code cache} object of {@code policy}, or null when it says nothing. */
  static @Nullable ObjectNode writeCache(CachePolicy policy) {
    if (!policy.any()) {
      return null;
    }
    ObjectNode node = JSON.createObjectNode();
    node.put("mode", policy.mode().map(CacheMode::label).orElse(null));
    if (policy.semantic().isPresent()) {
      node.put("semantic", policy.semantic().get());
    } else {
      node.putNull("semantic");
    }
    node.put("answer_price", policy.answerPrice().map(BigDecimal::stripTrailingZeros).orElse(null));
    node.put("currency", policy.currency());
    return node;
  }

  private static Priority priority(JsonNode json) {
    JsonNode value = json.path("priority");
    if (value.isMissingNode() || value.isNull()) {
      return Priority.STANDARD;
    }
    return (value.isString() ? Priority.parse(value.asString()) : Optional.<Priority>empty())
        .orElseThrow(() -> OpenAiException.invalidRequest("'priority' must be critical, standard"
            + " or sheddable.", "priority"));
  }

  private static Quota quota(JsonNode json) {
    OptionalLong tokens = positive(json, "", "monthly_tokens", MAX_MONTHLY_TOKENS);
    JsonNode budget = json.path("monthly_budget");
    Optional<BigDecimal> amount = Optional.empty();
    if (!budget.isMissingNode() && !budget.isNull()) {
      if (!budget.isNumber()) {
        throw OpenAiException.invalidRequest("'monthly_budget' must be an amount such as 100 or"
            + " 12.50, or null for none.", "monthly_budget");
      }
      amount = Optional.of(budget.decimalValue());
    }
    JsonNode currency = json.path("budget_currency");
    Optional<String> code = currency.isString() ? Optional.of(currency.asString())
        : Optional.empty();
    JsonNode mode = json.path("budget_mode");
    if (!mode.isMissingNode() && !mode.isNull()
        && !(mode.isString() && Set.of("hard", "soft").contains(mode.asString()))) {
      throw OpenAiException.invalidRequest("'budget_mode' must be hard (refuse calls that may not"
          + " fit) or soft (serve them, marked).", "budget_mode");
    }
    try {
      return new Quota(tokens, amount, code, !"soft".equals(mode.asString("hard")));
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().substring(0, e.getMessage().indexOf(':'));
      throw OpenAiException.invalidRequest("'" + field + "': " + e.getMessage()
          .substring(field.length() + 2) + ".", field);
    }
  }

  private static Limits limits(JsonNode json, String path) {
    if (!json.isObject()) {
      throw OpenAiException.invalidRequest("'" + path.substring(0, Math.max(0, path.length() - 1))
          + "' must be an object of limits.", path);
    }
    if (!path.isEmpty()) {
      for (String field : json.propertyNames()) {
        if (!LIMIT_FIELDS.contains(field)) {
          throw OpenAiException.invalidRequest("Unknown field '" + path + field + "' (expected: "
              + LIMIT_FIELDS.stream().sorted().toList() + ").", path + field);
        }
      }
    }
    OptionalLong rpm = positive(json, path, "requests_per_minute", Limits.MAX);
    OptionalLong tpm = positive(json, path, "tokens_per_minute", Limits.MAX);
    OptionalLong concurrent = positive(json, path, "max_concurrent", 1_000_000);
    return new Limits(rpm, tpm, concurrent.isPresent()
        ? OptionalInt.of((int) concurrent.getAsLong()) : OptionalInt.empty());
  }

  private static OptionalLong positive(JsonNode json, String path, String field, long max) {
    JsonNode value = json.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return OptionalLong.empty();
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 1
        || value.asLong() > max) {
      throw OpenAiException.invalidRequest("'" + path + field + "' must be a whole number from 1"
          + " to " + max + ", or null for no limit.", path + field);
    }
    return OptionalLong.of(value.asLong());
  }

  static ObjectNode write(Plan plan) {
    ObjectNode node = JSON.createObjectNode().put("id", plan.id()).put("object", "plan");
    putLimits(node, plan.limits());
    var models = node.putArray("models");
    plan.allowedModels().stream().sorted().forEach(models::add);
    node.set("model_limits", modelLimits(plan));
    Quota quota = plan.quota();
    node.put("monthly_tokens", quota.monthlyTokens().isPresent()
        ? quota.monthlyTokens().getAsLong() : null);
    node.put("monthly_budget", quota.monthlyBudget().map(BigDecimal::stripTrailingZeros)
        .orElse(null));
    node.put("budget_currency", quota.currency().orElse(null));
    node.put("budget_mode", quota.any() ? (quota.hard() ? "hard" : "soft") : null);
    node.put("priority", plan.priority().label());
    node.put("weight", plan.weight());
    node.set("cache", writeCache(plan.cache()));
    node.put("revision", plan.revision());
    return node;
  }

  static ObjectNode modelLimits(Plan plan) {
    ObjectNode byModel = JSON.createObjectNode();
    plan.modelLimits().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> putLimits(byModel.putObject(e.getKey()), e.getValue()));
    return byModel;
  }

  private static void putLimits(ObjectNode node, Limits limits) {
    node.put("requests_per_minute", limits.requestsPerMinute().isPresent()
        ? limits.requestsPerMinute().getAsLong() : null);
    node.put("tokens_per_minute", limits.tokensPerMinute().isPresent()
        ? limits.tokensPerMinute().getAsLong() : null);
    node.put("max_concurrent", limits.maxConcurrent().isPresent()
        ? limits.maxConcurrent().getAsInt() : null);
  }
}
