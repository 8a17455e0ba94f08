package io.modelway.app;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code modelway tenants create|list|set-plan}: tenants, through the admin API. */
@Command(name = "tenants", footer = {"", "Examples:", "  modelway tenants create acme --name \"Acme Inc\" --plan pro", "  modelway tenants list"},
    mixinStandardHelpOptions = true,
    description = "Create and list tenants, and put them on plans (admin API; key from MODELWAY_ADMIN_KEY).",
    subcommands = {TenantsCommand.Create.class, TenantsCommand.ListTenants.class,
        TenantsCommand.SetPlan.class})
final class TenantsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", footer = {"", "Example:", "  modelway tenants create acme --name \"Acme Inc\" --plan pro"},
    mixinStandardHelpOptions = true, description = "Create a tenant.")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "Lower-case letters, digits, - and _.")
    String id = "";

    @Option(names = "--name", paramLabel = "NAME", description = "A display name (default: the id).")
    @Nullable String name;

    @Option(names = "--plan", paramLabel = "PLAN",
        description = "The plan whose limits count all the tenant's calls (default: none, unlimited).")
    @Nullable String plan;

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return Admin.run(spec, admin, () -> {
        String body = "{\"id\":" + AdminClient.quote(id)
            + (name == null ? "" : ",\"name\":" + AdminClient.quote(name))
            + (plan == null ? "" : ",\"plan\":" + AdminClient.quote(plan)) + "}";
        JsonNode tenant = admin.call("POST", "/admin/v1/tenants", body);
        return admin.json ? tenant.toString() : "Created tenant " + tenant.path("id").asString();
      });
    }
  }

  @Command(name = "list", footer = {"", "Example:", "  modelway tenants list --json"},
    mixinStandardHelpOptions = true, description = "List tenants.")
  static final class ListTenants implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return Admin.run(spec, admin, () -> {
        JsonNode list = admin.call("GET", "/admin/v1/tenants", null);
        if (admin.json) {
          return list.toString();
        }
        Table table = new Table("ID", "NAME", "PLAN", "CREATED");
        list.path("data").forEach(t -> table.row(t.path("id").asString(),
            t.path("name").asString(), t.path("plan").asString("-"),
            t.path("created_at").asString()));
        return table.toString();
      });
    }
  }

  @Command(name = "set-plan", footer = {"", "Example:", "  modelway tenants set-plan acme none"},
    mixinStandardHelpOptions = true,
      description = "Put a tenant on a plan, or on none.")
  static final class SetPlan implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "The tenant's id.")
    String id = "";

    @Parameters(index = "1", paramLabel = "PLAN", description = "The plan's id, or none.")
    String plan = "";

    @Mixin AdminClient admin;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return setPlan(spec, admin, "/admin/v1/tenants/" + id, "Tenant " + id, plan);
    }
  }

  /** Puts what {@code path} names ({@code what}) on {@code plan}, {@code none} meaning no plan. */
  static int setPlan(CommandSpec spec, AdminClient admin, String path, String what, String plan) {
    return Admin.run(spec, admin, () -> {
      JsonNode changed = admin.call("PATCH", path,
          "{\"plan\":" + ("none".equals(plan) ? "null" : AdminClient.quote(plan)) + "}");
      return admin.json ? changed.toString()
          : what + " is on plan " + changed.path("plan").asString("none");
    });
  }

  /** Runs an admin call: prints its result, or the reason it failed (exit 1). */
  static final class Admin {
    private Admin() {}

    static int run(CommandSpec spec, AdminClient admin, java.util.function.Supplier<String> call) {
      PrintWriter out = spec.commandLine().getOut();
      try {
        out.println(call.get());
        out.flush();
        return 0;
      } catch (AdminClient.Failure e) {
        spec.commandLine().getErr().println("modelway: " + e.getMessage());
        return 1;
      }
    }
  }
}
