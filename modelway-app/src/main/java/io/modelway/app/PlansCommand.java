package io.modelway.app;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** {@code modelway plans create|update|list|delete}: plans, through the admin API. */
@Command(name = "plans", footer = {"", "Examples:", "  modelway plans create pro --rpm 600 --tpm 200000 --offered-to all", "  modelway plans list"},
    mixinStandardHelpOptions = true,
    description = "Create, update, list and delete plans: the rate limits tenants and keys are held to"
        + " (admin API; key from MODELWAY_ADMIN_KEY).",
    subcommands = {PlansCommand.Create.class, PlansCommand.Update.class,
        PlansCommand.ListPlans.class, PlansCommand.Delete.class})
final class PlansCommand implements Runnable {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The limits of a plan, as options. */
  static final class Limits {
    @Option(names = "--rpm", paramLabel = "N", description = "Requests per minute.")
    @Nullable Long rpm;

    @Option(names = "--tpm", paramLabel = "N", description = "Tokens (prompt and completion) per minute.")
    @Nullable Long tpm;

    @Option(names = "--concurrent", paramLabel = "N", description = "Calls at once.")
    @Nullable Integer concurrent;

    @Option(names = "--model", paramLabel = "MODEL",
        description = "A model the plan allows (repeatable; default: every model).")
    List<String> models = new ArrayList<>();

    @Option(names = "--model-limit", paramLabel = "MODEL=LIMITS",
        description = "Limits of one model, counted apart: MODEL=rpm:N,tpm:N,concurrent:N (repeatable).")
    Map<String, String> modelLimits = new LinkedHashMap<>();

    @Option(names = "--monthly-tokens", paramLabel = "N",
        description = "Tokens a holder may use in a calendar month (UTC).")
    @Nullable Long monthlyTokens;

    @Option(names = "--monthly-budget", paramLabel = "AMOUNT",
        description = "Money a holder may spend in a calendar month, at the models' prices (with --currency).")
    java.math.@Nullable BigDecimal monthlyBudget;

    @Option(names = "--currency", paramLabel = "CODE", description = "The budget's currency, such as USD or CNY.")
    @Nullable String currency;

    @Option(names = "--soft", description = "Serve calls past the monthly quotas, marked, instead of refusing them.")
    boolean soft;

    @Option(names = "--priority", paramLabel = "CLASS",
        description = "The class calls wait in when a model's instances are busy: critical, standard"
            + " (default) or sheddable.")
    @Nullable String priority;

    @Option(names = "--weight", paramLabel = "N",
        description = "The share of busy instances against other tenants of the same class, 1 to 1000"
            + " (default 1).")
    @Nullable Integer weight;

    @Option(names = "--cache", paramLabel = "MODE",
        description = "Which answers the response cache keeps for the plan's holders: off,"
            + " deterministic or always (default: each model's setting).")
    @Nullable String cache;

    @Option(names = "--semantic-cache", paramLabel = "BOOL", arity = "1",
        description = "Answer near-repeats from the cache for the plan's holders: true or false"
            + " (default: each model's setting).")
    @Nullable Boolean semanticCache;

    @Option(names = "--cache-answer-price", paramLabel = "AMOUNT",
        description = "What one answer from the cache costs, in --cache-currency (default: free).")
    java.math.@Nullable BigDecimal cacheAnswerPrice;

    @Option(names = "--cache-currency", paramLabel = "CODE",
        description = "The currency of --cache-answer-price (default USD).")
    @Nullable String cacheCurrency;

    @Option(names = "--offered-to", paramLabel = "TENANT", split = ",",
        description = "A tenant whose admins may see the plan and put their keys on it"
            + " (repeatable); 'all' for every tenant, 'none' for no tenant (the default of a new"
            + " plan; update keeps the offer unless given).")
    List<String> offeredTo = new ArrayList<>();

    ObjectNode body(String id) {
      ObjectNode body = JSON.createObjectNode().put("id", id);
      if (offeredTo.equals(List.of("all"))) {
        body.put("offered_to", "all");
      } else if (offeredTo.equals(List.of("none"))) {
        body.putNull("offered_to");
      } else if (!offeredTo.isEmpty()) {
        var tenants = body.putArray("offered_to");
        offeredTo.forEach(tenants::add);
      }
      put(body, "requests_per_minute", rpm);
      put(body, "tokens_per_minute", tpm);
      put(body, "max_concurrent", concurrent == null ? null : concurrent.longValue());
      put(body, "monthly_tokens", monthlyTokens);
      if (monthlyBudget != null) {
        body.put("monthly_budget", monthlyBudget);
      }
      if (currency != null) {
        body.put("budget_currency", currency);
      }
      if (soft) {
        body.put("budget_mode", "soft");
      }
      if (priority != null) {
        body.put("priority", priority);
      }
      put(body, "weight", weight == null ? null : weight.longValue());
      if (cache != null || semanticCache != null || cacheAnswerPrice != null
          || cacheCurrency != null) {
        ObjectNode policy = body.putObject("cache");
        if (cache != null) {
          policy.put("mode", cache);
        }
        if (semanticCache != null) {
          policy.put("semantic", semanticCache);
        }
        if (cacheAnswerPrice != null) {
          policy.put("answer_price", cacheAnswerPrice);
        }
        if (cacheCurrency != null) {
          policy.put("currency", cacheCurrency);
        }
      }
      if (!models.isEmpty()) {
        var list = body.putArray("models");
        models.forEach(list::add);
      }
      if (!modelLimits.isEmpty()) {
        ObjectNode byModel = body.putObject("model_limits");
        modelLimits.forEach((model, spec) -> byModel.set(model, parse(model, spec)));
      }
      return body;
    }

    private static ObjectNode parse(String model, String spec) {
      ObjectNode limits = JSON.createObjectNode();
      for (String part : spec.split(",")) {
        String[] kv = part.strip().split(":", 2);
        String field = kv.length < 2 ? "" : switch (kv[0].strip()) {
          case "rpm" -> "requests_per_minute";
          case "tpm" -> "tokens_per_minute";
          case "concurrent" -> "max_concurrent";
          default -> "";
        };
        if (field.isEmpty()) {
          throw new AdminClient.Failure("--model-limit " + model + "=" + spec
              + ": expected rpm:N, tpm:N or concurrent:N, separated by commas");
        }
        try {
          limits.put(field, Long.parseLong(kv[1].strip()));
        } catch (NumberFormatException e) {
          throw new AdminClient.Failure("--model-limit " + model + "=" + spec + ": '"
              + kv[1].strip() + "' is not a whole number");
        }
      }
      return limits;
    }

    private static void put(ObjectNode body, String field, @Nullable Long value) {
      if (value != null) {
        body.put(field, value);
      }
    }
  }

  @Command(name = "create", footer = {"", "Example:", "  modelway plans create team --rpm 600 --monthly-budget 500 --currency CNY --offered-to acme"},
    mixinStandardHelpOptions = true,
      description = "Create a plan; a limit left out does not limit.")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "Lower-case letters, digits, -, _ and .")
    String id = "";

    @Mixin Limits limits;
    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return save(spec, admin, "POST", "/admin/v1/plans", limits.body(id), "Created");
    }
  }

  @Command(name = "update", footer = {"", "Example:", "  modelway plans update team --rpm 900 --monthly-budget 800 --currency CNY"},
    mixinStandardHelpOptions = true,
      description = "Replace a plan's limits whole (a limit left out no longer limits).")
  static final class Update implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The plan's id.")
    String id = "";

    @Mixin Limits limits;
    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return save(spec, admin, "PUT", "/admin/v1/plans/" + id, limits.body(id), "Updated");
    }
  }

  @Command(name = "list", footer = {"", "Example:", "  modelway plans list --json"},
    mixinStandardHelpOptions = true, description = "List plans.")
  static final class ListPlans implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode list = admin.call("GET", "/admin/v1/plans", null);
        if (admin.json) {
          return list.toString();
        }
        Table table = new Table("ID", "REQ/MIN>", "TOKENS/MIN>", "AT ONCE>", "PRIORITY",
            "OFFERED TO", "MODELS");
        list.path("data").forEach(p -> table.row(p.path("id").asString(),
            limit(p.path("requests_per_minute")), limit(p.path("tokens_per_minute")),
            limit(p.path("max_concurrent")), p.path("priority").asString("standard"), offer(p),
            models(p)));
        return table.toString();
      });
    }
  }

  @Command(name = "delete", footer = {"", "Example:", "  modelway plans delete team"},
    mixinStandardHelpOptions = true,
      description = "Delete a plan no tenant or key is on.")
  static final class Delete implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The plan's id.")
    String id = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode deleted = admin.call("DELETE", "/admin/v1/plans/" + id, null);
        return admin.json ? deleted.toString() : "Deleted plan " + id;
      });
    }
  }

  private static int save(CommandSpec spec, AdminClient admin, String method, String path,
      ObjectNode body, String done) {
    return TenantsCommand.Admin.run(spec, admin, () -> {
      JsonNode plan = admin.call(method, path, body.toString());
      return admin.json ? plan.toString() : done + " plan " + describe(plan);
    });
  }

  /**
   * A plan in one line, naming only what it sets: {@code pro (revision 1): 600 requests/min,
   * 2 at once; a month: 1000000 tokens, 12.5 CNY (soft); models: all; gpt-4o: 60 requests/min;
   * offered to: none}.
   */
  static String describe(JsonNode plan) {
    List<String> parts = new ArrayList<>();
    String limits = limits(plan);
    parts.add(limits.isEmpty() ? "no rate limits" : limits);
    List<String> month = new ArrayList<>();
    if (plan.path("monthly_tokens").isNumber()) {
      month.add(plan.path("monthly_tokens").asLong() + " tokens");
    }
    if (plan.path("monthly_budget").isNumber()) {
      month.add(plan.path("monthly_budget").decimalValue().stripTrailingZeros().toPlainString()
          + " " + plan.path("budget_currency").asString());
    }
    if (!month.isEmpty()) {
      parts.add("a month: " + String.join(", ", month)
          + (plan.path("budget_mode").asString("hard").equals("soft") ? " (soft)" : ""));
    }
    JsonNode allowed = plan.path("models");
    parts.add("models: " + (allowed.isEmpty() ? "all" : String.join(",", allowed.valueStream()
        .map(JsonNode::asString).toList())));
    plan.path("model_limits").properties().forEach(e -> parts.add(e.getKey() + ": "
        + limits(e.getValue())));
    parts.add("offered to: " + offer(plan));
    return plan.path("id").asString() + " (revision " + plan.path("revision").asLong() + "): "
        + String.join("; ", parts);
  }

  /** The per-minute and at-once limits that {@code json} sets, e.g. {@code 600 requests/min}. */
  private static String limits(JsonNode json) {
    List<String> set = new ArrayList<>();
    if (json.path("requests_per_minute").isNumber()) {
      set.add(json.path("requests_per_minute").asLong() + " requests/min");
    }
    if (json.path("tokens_per_minute").isNumber()) {
      set.add(json.path("tokens_per_minute").asLong() + " tokens/min");
    }
    if (json.path("max_concurrent").isNumber()) {
      set.add(json.path("max_concurrent").asLong() + " at once");
    }
    return String.join(", ", set);
  }

  private static String limit(JsonNode value) {
    return value.isNumber() ? Long.toString(value.asLong()) : "-";
  }

  private static String models(JsonNode plan) {
    JsonNode allowed = plan.path("models");
    List<String> parts = new ArrayList<>();
    parts.add(allowed.isEmpty() ? "all" : String.join(",", allowed.valueStream()
        .map(JsonNode::asString).toList()));
    plan.path("model_limits").properties().forEach(e -> parts.add(e.getKey() + "["
        + limits(e.getValue()) + "]"));
    return String.join(" ", parts);
  }

  /** To whom a plan is offered, as a platform admin sees it ("-" to a tenant admin). */
  private static String offer(JsonNode plan) {
    JsonNode offer = plan.path("offered_to");
    if (offer.isString()) {
      return offer.asString();
    }
    if (!offer.isArray()) {
      return "-";
    }
    return offer.isEmpty() ? "none"
        : String.join(",", offer.valueStream().map(JsonNode::asString).toList());
  }
}
