package io.modelway.app;

import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code modelway ps}: what a running Modelway serves: the models in its own JVM ({@code up},
 * {@code worker}) with their state and slots, and the workers registered with it ({@code up},
 * {@code gateway}) with their health and load.
 */
@Command(name = "ps", mixinStandardHelpOptions = true,
    footer = {"", "Examples:", "  modelway ps", "  modelway ps --url http://worker-1:8090 --json"},
    description = "Show what a running Modelway serves: its models (state, slots in use) and the"
        + " workers registered with it (admin API).")
final class PsCommand implements Callable<Integer> {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Mixin AdminClient admin;
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    return TenantsCommand.Admin.run(spec, admin, () -> {
      Optional<JsonNode> models = admin.find("/admin/v1/models");
      Optional<JsonNode> instances = admin.find("/admin/v1/instances");
      if (models.isEmpty() && instances.isEmpty()) {
        throw new AdminClient.Failure(admin.url + " serves neither models nor a registry;"
            + " is it a Modelway gateway or worker?");
      }
      if (admin.json) {
        ObjectNode both = JSON.createObjectNode();
        models.ifPresent(m -> both.set("models", m.path("data")));
        instances.ifPresent(i -> both.set("instances", i.path("data")));
        return both.toString();
      }
      StringBuilder out = new StringBuilder();
      models.ifPresent(m -> {
        Table table = new Table("MODEL", "STATE", "SLOTS>", "BUSY>", "QUEUED>", "IN FLIGHT>",
            "SINCE");
        m.path("data").forEach(model -> table.row(model.path("id").asString(),
            model.path("state").asString(),
            number(model.path("load").path("slots")), number(model.path("load").path("busy")),
            number(model.path("load").path("queued")),
            number(model.path("load").path("in_flight")),
            model.path("since").asString()));
        out.append(table.isEmpty() ? "No models in this process." : table.toString());
        m.path("data").forEach(model -> {
          if (model.path("error").isString()) {
            out.append('\n').append(model.path("id").asString()).append(": ")
                .append(model.path("error").asString());
          }
        });
      });
      instances.ifPresent(i -> {
        if (!out.isEmpty()) {
          out.append("\n\n");
        }
        Table table = new Table("WORKER", "ADDRESS", "HEALTH", "MODELS", "IN FLIGHT>",
            "FREE SLOTS>", "QUEUED>", "TOKENS/S>");
        i.path("data").forEach(w -> table.row(w.path("id").asString(),
            w.path("address").asString(), w.path("health").asString(),
            String.join(",", w.path("models").valueStream()
                .map(m -> m.path("id").asString() + ":" + m.path("state").asString()).toList()),
            number(w.path("load").path("in_flight")), number(w.path("load").path("free_slots")),
            number(w.path("load").path("queued")),
            number(w.path("load").path("tokens_per_second"))));
        out.append(table.isEmpty() ? "No workers registered." : table.toString());
      });
      return out.toString();
    });
  }

  private static String number(JsonNode value) {
    return value.isNumber() ? value.asString() : "-";
  }
}
