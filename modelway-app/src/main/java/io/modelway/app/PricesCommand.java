package io.modelway.app;

import java.math.BigDecimal;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
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

/** {@code modelway prices list|set|delete}: models' prices, through the admin API. */
@Command(name = "prices", mixinStandardHelpOptions = true,
    description = "List, set and delete models' prices per million tokens, which every ledger row"
        + " is costed with (admin API; key from MODELWAY_ADMIN_KEY).",
    footer = {"", "Examples:",
        "  modelway prices set deepseek/deepseek-chat --input 2 --output 8 --currency CNY",
        "  modelway prices list"},
    subcommands = {PricesCommand.ListPrices.class, PricesCommand.Set.class,
        PricesCommand.Delete.class})
final class PricesCommand implements Runnable {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List every model's price.",
      footer = {"", "Example:", "  modelway prices list --json"})
  static final class ListPrices implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode list = admin.call("GET", "/admin/v1/prices", null);
        if (admin.json) {
          return list.toString();
        }
        Table table = new Table("MODEL", "CURRENCY", "INPUT/1M>", "CACHED INPUT/1M>",
            "OUTPUT/1M>");
        list.path("data").forEach(p -> table.row(p.path("model").asString(),
            p.path("currency").asString(), amount(p.path("input")),
            amount(p.path("cached_input")), amount(p.path("output"))));
        return table.isEmpty() ? "No prices set: calls are recorded without a cost."
            : table.toString();
      });
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = "Set a model's price per million tokens, replacing the one it had.",
      footer = {"", "Example:",
          "  modelway prices set openai/gpt-4o-mini --input 0.15 --cached-input 0.075"
              + " --output 0.6 --currency USD"})
  static final class Set implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model as callers name it.")
    String model = "";

    @Option(names = "--input", required = true, paramLabel = "AMOUNT",
        description = "Per million prompt tokens.")
    BigDecimal input = BigDecimal.ZERO;

    @Option(names = "--cached-input", paramLabel = "AMOUNT",
        description = "Per million cached prompt tokens (default: the --input price).")
    @Nullable BigDecimal cachedInput;

    @Option(names = "--output", required = true, paramLabel = "AMOUNT",
        description = "Per million completion tokens.")
    BigDecimal output = BigDecimal.ZERO;

    @Option(names = "--currency", required = true, paramLabel = "CODE",
        description = "An ISO 4217 code such as USD or CNY.")
    String currency = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      ObjectNode body = JSON.createObjectNode().put("currency", currency).put("input", input)
          .put("output", output);
      if (cachedInput != null) {
        body.put("cached_input", cachedInput);
      }
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode price = admin.call("PUT", "/admin/v1/prices/" + path(model), body.toString());
        return admin.json ? price.toString() : "Price of " + price.path("model").asString()
            + " per million tokens: input " + amount(price.path("input")) + ", cached input "
            + amount(price.path("cached_input")) + ", output " + amount(price.path("output"))
            + " " + price.path("currency").asString();
      });
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a model's price: its calls are then recorded without a cost.",
      footer = {"", "Example:", "  modelway prices delete openai/gpt-4o-mini"})
  static final class Delete implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "The model as callers name it.")
    String model = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode deleted = admin.call("DELETE", "/admin/v1/prices/" + path(model), null);
        return admin.json ? deleted.toString() : "Deleted the price of " + model;
      });
    }
  }

  /** A model name as a path: each segment encoded, its slashes kept. */
  private static String path(String model) {
    StringBuilder path = new StringBuilder();
    for (String segment : model.split("/", -1)) {
      if (!path.isEmpty()) {
        path.append('/');
      }
      path.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return path.toString();
  }

  private static String amount(JsonNode value) {
    return value.isNumber() ? value.decimalValue().stripTrailingZeros().toPlainString() : "-";
  }
}
