package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine;

/** {@code modelway tenants} and {@code modelway keys} against a running gateway. */
class AdminCliTest {
  private static final String ADMIN = "mw-cli-test-admin";

  record Run(int code, String out, String err) {}

  /** The CLI run with {@code env} as its environment. */
  static Run run(Map<String, String> env, String... args) {
    CommandLine.IFactory factory = new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> type) throws Exception {
        K made = CommandLine.defaultFactory().create(type);
        if (made instanceof AdminClient client) {
          client.environment = env::get;
        }
        return made;
      }
    };
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Modelway.commandLine(factory);
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void managesTenantsAndKeysThroughTheAdminApi(@TempDir Path dir) {
    try (ConfigurableApplicationContext gateway = GatewayRole.start(GatewayOptions.of(dir)
        .withEnvironment(Map.of("MODELWAY_ADMIN_KEY", ADMIN)::get))) {
      String url = "http://127.0.0.1:" + GatewayRole.port(gateway);
      Map<String, String> env = Map.of("MODELWAY_ADMIN_KEY", ADMIN);

      Run created = run(env, "tenants", "create", "acme", "--name", "Acme Inc", "--url", url);
      assertThat(created.code()).as(created.err()).isZero();
      assertThat(run(env, "tenants", "list", "--url", url).out()).contains("acme", "Acme Inc");

      Run key = run(env, "keys", "create", "--tenant", "acme", "--model", "chat",
          "--expires-in", "30d", "--url", url);
      assertThat(key.code()).as(key.err()).isZero();
      Matcher m = Pattern.compile("Created key (key_[0-9a-f]+) .*\\n\\n  (mw-\\w+)", Pattern.DOTALL)
          .matcher(key.out());
      assertThat(m.find()).as(key.out()).isTrue();
      String id = m.group(1);
      String secret = m.group(2);

      Run listed = run(env, "keys", "list", "--tenant", "acme", "--url", url);
      assertThat(listed.out()).contains(id, "member", "active", secret.substring(0, 9))
          .doesNotContain(secret);

      assertThat(run(env, "keys", "revoke", id, "--url", url).out()).contains("Revoked key " + id);
      assertThat(run(env, "keys", "list", "--json", "--url", url).out())
          .contains("\"status\":\"revoked\"");

      Run usage = run(env, "usage", "--url", url);
      assertThat(usage.code()).as(usage.err()).isZero();
      assertThat(usage.out()).contains("requests,", "cost: -", "PROMPT", "COST");
      Run csv = run(env, "usage", "--csv", "--tenant", "acme", "--url", url);
      assertThat(csv.out()).startsWith("id,at,request_id,tenant,");
      Run badTime = run(env, "usage", "--from", "yesterday", "--url", url);
      assertThat(badTime.code()).isEqualTo(1);
      assertThat(badTime.err()).contains("ISO-8601");

      Run member = run(Map.of("MODELWAY_KEY", secret), "tenants", "list", "--url", url);
      assertThat(member.code()).isEqualTo(1);
      assertThat(member.err()).contains("revoked");
      Run nobody = run(Map.of(), "keys", "list", "--url", url);
      assertThat(nobody.code()).isEqualTo(1);
      assertThat(nobody.err()).contains("MODELWAY_ADMIN_KEY");
    }
  }

  @Test
  void setsListsAndDeletesPrices(@TempDir Path dir) {
    try (ConfigurableApplicationContext gateway = GatewayRole.start(GatewayOptions.of(dir)
        .withEnvironment(Map.of("MODELWAY_ADMIN_KEY", ADMIN)::get))) {
      String url = "http://127.0.0.1:" + GatewayRole.port(gateway);
      Map<String, String> env = Map.of("MODELWAY_ADMIN_KEY", ADMIN);

      assertThat(run(env, "prices", "list", "--url", url).out()).contains("No prices set");
      Run set = run(env, "prices", "set", "deepseek/deepseek-chat", "--input", "2", "--output",
          "8", "--currency", "CNY", "--url", url);
      assertThat(set.out()).as(set.err()).contains("Price of deepseek/deepseek-chat per million"
          + " tokens: input 2, cached input 2, output 8 CNY");
      run(env, "prices", "set", "gpt-4o-mini", "--input", "0.15", "--cached-input", "0.075",
          "--output", "0.6", "--currency", "USD", "--url", url);
      assertThat(run(env, "prices", "list", "--url", url).out().lines().toList()).containsExactly(
          "MODEL                   CURRENCY  INPUT/1M  CACHED INPUT/1M  OUTPUT/1M",
          "deepseek/deepseek-chat  CNY              2                2          8",
          "gpt-4o-mini             USD           0.15            0.075        0.6");
      Run bad = run(env, "prices", "set", "m", "--input", "-1", "--output", "1", "--currency",
          "USD", "--url", url);
      assertThat(bad.code()).isEqualTo(1);
      assertThat(bad.err()).startsWith("modelway: ");
      assertThat(run(env, "prices", "delete", "deepseek/deepseek-chat", "--url", url).out())
          .isEqualTo("Deleted the price of deepseek/deepseek-chat\n");
      assertThat(run(env, "prices", "list", "--json", "--url", url).out())
          .doesNotContain("deepseek").contains("gpt-4o-mini");
    }
  }

  @Test
  void usageTotalsShowTheCostInEachCurrency() {
    assertThat(UsageCommand.costs(tools.jackson.databind.json.JsonMapper.builder().build()
        .readTree("{\"USD\":1.250000000,\"CNY\":8.4}"))).isEqualTo("1.25 USD, 8.4 CNY");
  }

  @Test
  void managesPlansAndPutsTenantsAndKeysOnThem(@TempDir Path dir) {
    try (ConfigurableApplicationContext gateway = GatewayRole.start(GatewayOptions.of(dir)
        .withEnvironment(Map.of("MODELWAY_ADMIN_KEY", ADMIN)::get))) {
      String url = "http://127.0.0.1:" + GatewayRole.port(gateway);
      Map<String, String> env = Map.of("MODELWAY_ADMIN_KEY", ADMIN);

      Run created = run(env, "plans", "create", "pro", "--rpm", "600", "--tpm", "200000",
          "--model-limit", "gpt-4o=rpm:60,concurrent:2", "--url", url);
      assertThat(created.code()).as(created.err()).isZero();
      assertThat(created.out()).contains("Created plan pro (revision 1): 600 requests/min,"
          + " 200000 tokens/min; models: all; gpt-4o: 60 requests/min, 2 at once;"
          + " offered to: none");
      Run budget = run(env, "plans", "create", "capped", "--monthly-tokens", "1000000",
          "--monthly-budget", "12.5", "--currency", "CNY", "--soft", "--url", url);
      assertThat(budget.out()).as(budget.err())
          .contains("capped (revision 1): no rate limits; a month: 1000000 tokens, 12.5 CNY"
              + " (soft); models: all");
      Run updated = run(env, "plans", "update", "pro", "--rpm", "900", "--url", url);
      assertThat(updated.out()).contains("Updated plan pro (revision 2): 900 requests/min;"
          + " models: all;");
      assertThat(run(env, "plans", "list", "--url", url).out()).contains("pro", "900");
      Run cached = run(env, "plans", "create", "cached", "--cache", "always", "--semantic-cache",
          "true", "--cache-answer-price", "0.001", "--cache-currency", "EUR", "--url", url);
      assertThat(cached.code()).as(cached.err()).isZero();
      Run badCache = run(env, "plans", "create", "bad", "--cache", "sometimes", "--url", url);
      assertThat(badCache.code()).isEqualTo(1);
      assertThat(badCache.err()).contains("'cache.mode' must be off, deterministic or always");
      Run badLimit = run(env, "plans", "create", "bad", "--model-limit", "m=rpm:lots", "--url", url);
      assertThat(badLimit.code()).isEqualTo(1);
      assertThat(badLimit.err()).contains("'lots' is not a whole number");
      Run zero = run(env, "plans", "create", "bad", "--rpm", "0", "--url", url);
      assertThat(zero.code()).isEqualTo(1);
      assertThat(zero.err()).contains("requests_per_minute");

      assertThat(run(env, "tenants", "create", "acme", "--plan", "pro", "--url", url).code())
          .isZero();
      assertThat(run(env, "tenants", "list", "--url", url).out()).containsPattern("acme +acme +pro");
      Run offered = run(env, "plans", "update", "cached", "--cache", "always", "--offered-to",
          "acme", "--url", url);
      assertThat(offered.out()).as(offered.err()).contains("; offered to: acme");
      assertThat(run(env, "plans", "list", "--url", url).out()).containsPattern("cached .* acme ");
      assertThat(run(env, "plans", "update", "cached", "--offered-to", "nobody", "--url", url)
          .err()).contains("No tenant 'nobody'");
      Run key = run(env, "keys", "create", "--tenant", "acme", "--plan", "pro", "--json",
          "--url", url);
      assertThat(key.out()).contains("\"plan\":\"pro\"");
      String id = key.out().replaceAll("(?s).*\"id\":\"(key_[0-9a-f]+)\".*", "$1");
      assertThat(run(env, "keys", "set-plan", id, "none", "--url", url).out())
          .contains("Key " + id + " is on plan none");
      Run inUse = run(env, "plans", "delete", "pro", "--url", url);
      assertThat(inUse.code()).isEqualTo(1);
      assertThat(inUse.err()).contains("in use");
      assertThat(run(env, "tenants", "set-plan", "acme", "none", "--url", url).out())
          .contains("Tenant acme is on plan none");
      assertThat(run(env, "plans", "delete", "pro", "--url", url).out())
          .contains("Deleted plan pro");
    }
  }
}
