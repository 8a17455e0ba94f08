package io.modelway.app;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code modelway keys create|list|revoke|rotate|set-plan}: API keys, through the admin API. */
@Command(name = "keys", footer = {"", "Examples:", "  modelway keys create --tenant acme --role member --expires-in 90d", "  modelway keys list --tenant acme"},
    mixinStandardHelpOptions = true,
    description = "Create, list, revoke and rotate API keys, and give them plans (admin API; key from MODELWAY_ADMIN_KEY).",
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class,
        KeysCommand.Rotate.class, KeysCommand.SetPlan.class})
final class KeysCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", footer = {"", "Example:", "  modelway keys create --tenant acme --name ci --model deepseek/deepseek-chat --expires-in 30d"},
    mixinStandardHelpOptions = true,
      description = "Create a key; its secret is printed once.")
  static final class Create implements Callable<Integer> {
    @Option(names = "--tenant", paramLabel = "ID", description = "The key's tenant (default: the caller's).")
    @Nullable String tenant;

    @Option(names = "--name", paramLabel = "NAME", description = "What the key is for.")
    @Nullable String name;

    @Option(names = "--role", paramLabel = "ROLE", defaultValue = "member",
        description = "member, tenant_admin or platform_admin (default: ${DEFAULT-VALUE}).")
    String role = "member";

    @Option(names = "--project", paramLabel = "NAME", description = "A project inside the tenant.")
    @Nullable String project;

    @Option(names = "--model", paramLabel = "MODEL",
        description = "A model the key may call (repeatable; default: every model).")
    List<String> models = new ArrayList<>();

    @Option(names = "--expires-in", paramLabel = "DURATION",
        description = "Expire after this long, e.g. 30d or 12h (default: never).")
    @Nullable Duration expiresIn;

    @Option(names = "--plan", paramLabel = "PLAN",
        description = "The key's own plan, counting its calls on top of its tenant's (default: none).")
    @Nullable String plan;

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        StringBuilder body = new StringBuilder("{\"role\":").append(AdminClient.quote(role));
        if (tenant != null) {
          body.append(",\"tenant\":").append(AdminClient.quote(tenant));
        }
        if (name != null) {
          body.append(",\"name\":").append(AdminClient.quote(name));
        }
        if (project != null) {
          body.append(",\"project\":").append(AdminClient.quote(project));
        }
        if (!models.isEmpty()) {
          body.append(",\"models\":[");
          for (int i = 0; i < models.size(); i++) {
            body.append(i == 0 ? "" : ",").append(AdminClient.quote(models.get(i)));
          }
          body.append(']');
        }
        if (plan != null) {
          body.append(",\"plan\":").append(AdminClient.quote(plan));
        }
        if (expiresIn != null) {
          body.append(",\"expires_in\":\"").append(expiresIn.toSeconds()).append("s\"");
        }
        JsonNode key = admin.call("POST", "/admin/v1/keys", body.append('}').toString());
        return admin.json ? key.toString() : issued(key);
      });
    }
  }

  static String issued(JsonNode key) {
    return "Created key " + key.path("id").asString() + " (" + key.path("role").asString()
        + " of tenant " + key.path("tenant").asString() + "). Its secret, shown only now:\n\n  "
        + key.path("key").asString() + "\n";
  }

  @Command(name = "list", footer = {"", "Example:", "  modelway keys list --tenant acme --json"},
    mixinStandardHelpOptions = true, description = "List keys (never their secrets).")
  static final class ListKeys implements Callable<Integer> {
    @Option(names = "--tenant", paramLabel = "ID", description = "Only this tenant's keys.")
    @Nullable String tenant;

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode list = admin.call("GET", "/admin/v1/keys"
            + (tenant == null ? "" : "?tenant=" + java.net.URLEncoder.encode(tenant,
                java.nio.charset.StandardCharsets.UTF_8)), null);
        if (admin.json) {
          return list.toString();
        }
        Table table = new Table("ID", "PREFIX", "TENANT", "ROLE", "STATUS", "PLAN", "EXPIRES",
            "NAME");
        list.path("data").forEach(k -> table.row(k.path("id").asString(),
            k.path("prefix").asString(), k.path("tenant").asString(), k.path("role").asString(),
            k.path("status").asString(), k.path("plan").asString("-"),
            k.path("expires_at").asString("-"), k.path("name").asString()));
        return table.toString();
      });
    }
  }

  @Command(name = "set-plan", footer = {"", "Example:", "  modelway keys set-plan key_0123abcd pro"},
    mixinStandardHelpOptions = true,
      description = "Give a key its own plan, or none.")
  static final class SetPlan implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The key's id (key_…).")
    String id = "";

    @Parameters(index = "1", paramLabel = "PLAN", description = "The plan's id, or none.")
    String plan = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.setPlan(spec, admin, "/admin/v1/keys/" + id, "Key " + id, plan);
    }
  }

  @Command(name = "revoke", footer = {"", "Example:", "  modelway keys revoke key_0123abcd"},
    mixinStandardHelpOptions = true, description = "Revoke a key at once.")
  static final class Revoke implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The key's id (key_…).")
    String id = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode key = admin.call("POST", "/admin/v1/keys/" + id + "/revoke", null);
        return admin.json ? key.toString() : "Revoked key " + key.path("id").asString();
      });
    }
  }

  @Command(name = "rotate", footer = {"", "Example:", "  modelway keys rotate key_0123abcd --grace 1h"},
    mixinStandardHelpOptions = true,
      description = "Replace a key with a new one; the old one works for the grace period.")
  static final class Rotate implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The key's id (key_…).")
    String id = "";

    @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "24h",
        description = "How long the old key keeps working (default: ${DEFAULT-VALUE}).")
    Duration grace = Duration.ofHours(24);

    @Option(names = "--expires-in", paramLabel = "DURATION",
        description = "The new key expires after this long (default: as long as the old key was"
            + " issued for; never if it never expired).")
    @Nullable Duration expiresIn;

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return TenantsCommand.Admin.run(spec, admin, () -> {
        JsonNode key = admin.call("POST", "/admin/v1/keys/" + id + "/rotate",
            "{\"grace\":\"" + grace.toSeconds() + "s\""
                + (expiresIn == null ? "" : ",\"expires_in\":\"" + expiresIn.toSeconds() + "s\"")
                + "}");
        return admin.json ? key.toString() : issued(key);
      });
    }
  }
}
