package io.modelway.app;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code modelway usage}: the usage ledger, through the admin API. */
@Command(name = "usage", mixinStandardHelpOptions = true,
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
      StringBuilder out = new StringBuilder(String.format(
          "%d requests, %d prompt tokens, %d completion tokens, %d cached%n%n",
          t.path("requests").asLong(), t.path("prompt_tokens").asLong(),
          t.path("completion_tokens").asLong(), t.path("cached_tokens").asLong()));
      String format = "%-24s %-12s %-16s %-24s %6s %-9s %8s %8s %8s%n";
      out.append(String.format(format, "AT", "TENANT", "KEY", "MODEL", "STATUS", "OUTCOME",
          "PROMPT", "OUTPUT", "MS"));
      usage.path("data").forEach(r -> out.append(String.format(format,
          r.path("at").asString(), r.path("tenant").asString(), r.path("key_id").asString(),
          r.path("model").asString(), r.path("status").asInt(), r.path("outcome").asString(),
          r.path("prompt_tokens").asLong(), r.path("completion_tokens").asLong(),
          r.path("latency_ms").asLong())));
      return out.toString().stripTrailing();
    });
  }

  private static void param(StringBuilder query, String name, @Nullable String value) {
    if (value != null) {
      query.append('&').append(name).append('=').append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }
}
