package io.modelway.app;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code modelway usage}: the usage ledger, through the admin API. */
@Command(name = "usage", footer = {"", "Example:", "  modelway usage --tenant acme --from 2026-12-01T00:00:00Z --limit 50"},
    mixinStandardHelpOptions = true,
    description = "Show the usage ledger: rows and totals by tenant, key, model and time (admin API).")
final class UsageCommand implements Callable<Integer> {
  @Option(names = "--tenant", paramLabel = "ID", description = "Only this tenant.")
  @Nullable String tenant;

  @Option(names = "--key", paramLabel = "ID", description = "Only this key (key_…).")
  @Nullable String key;

  @Option(names = "--model", paramLabel = "MODEL", description = "Only this model.")
  @Nullable String model;

  @Option(names = "--from", paramLabel = "INSTANT", description = "From this time on, e.g. 2026-11-01T00:00:00Z.")
  @Nullable String from;

  @Option(names = "--to", paramLabel = "INSTANT", description = "Before this time.")
  @Nullable String to;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
      description = "Rows to show, newest first (default: ${DEFAULT-VALUE}; totals count all).")
  int limit = 20;

  @Option(names = "--csv", description = "Print the rows as CSV (for a spreadsheet).")
  boolean csv;

  @Mixin AdminClient admin;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    StringBuilder query = new StringBuilder("/admin/v1/usage?limit=").append(limit);
    param(query, "tenant", tenant);
    param(query, "key", key);
    param(query, "model", model);
    param(query, "from", from);
    param(query, "to", to);
    if (csv) {
      return TenantsCommand.Admin.run(spec, admin,
          () -> admin.text("GET", query.append("&format=csv").toString()).stripTrailing());
    }
    return TenantsCommand.Admin.run(spec, admin, () -> {
      JsonNode usage = admin.call("GET", query.toString(), null);
      if (admin.json) {
        return usage.toString();
      }
      JsonNode t = usage.path("totals");
      StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
          "%d requests, %d prompt tokens, %d completion tokens, %d cached; cost: %s%n%n",
          t.path("requests").asLong(), t.path("prompt_tokens").asLong(),
          t.path("completion_tokens").asLong(), t.path("cached_tokens").asLong(),
          costs(t.path("cost"))));
      Table rows = new Table("AT", "TENANT", "KEY", "MODEL", "STATUS>", "OUTCOME", "PROMPT>",
          "OUTPUT>", "COST>", "MS>");
      usage.path("data").forEach(r -> rows.row(r.path("at").asString(),
          r.path("tenant").asString(), r.path("key_id").asString(), r.path("model").asString(),
          r.path("status").asInt(), r.path("outcome").asString()
              + (r.path("cache_hit").asBoolean() ? " (cache)" : ""),
          r.path("prompt_tokens").asLong(), r.path("completion_tokens").asLong(),
          r.path("cost").isNumber() ? r.path("cost").decimalValue().toPlainString() + " "
              + r.path("currency").asString() : null,
          r.path("latency_ms").asLong()));
      out.append(rows);
      return out.toString().stripTrailing();
    });
  }

  /** The totals' cost per currency, such as {@code 1.25 USD, 8.4 CNY}; {@code -} without. */
  static String costs(JsonNode cost) {
    List<String> parts = new ArrayList<>();
    cost.properties().forEach(e -> parts.add(e.getValue().decimalValue().stripTrailingZeros()
        .toPlainString() + " " + e.getKey()));
    return parts.isEmpty() ? "-" : String.join(", ", parts);
  }

  private static void param(StringBuilder query, String name, @Nullable String value) {
    if (value != null) {
      query.append('&').append(name).append('=').append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }
}
