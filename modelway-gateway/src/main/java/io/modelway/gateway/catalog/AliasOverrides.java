package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.Principal;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Aliases set at runtime, in the store, each change written to the audit log in the same
 * transaction. Blocking (JDBC): call it off the event loops. Thread-safe.
 */
public final class AliasOverrides {
  static final JsonMapper JSON = JsonMapper.builder().build();

  private final JdbcClient jdbc;
  private final TransactionTemplate transactions;
  private final Clock clock;
  private final AuditLog audit;

  public AliasOverrides(DataSource dataSource, TransactionTemplate transactions, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.transactions = requireNonNull(transactions, "transactions");
    this.clock = requireNonNull(clock, "clock");
    this.audit = new AuditLog(dataSource, clock);
  }

  /** Sets {@code alias} as the override of its name, replacing any earlier one. */
  public void set(ModelwayConfig.Alias alias, Principal actor) {
    requireNonNull(alias, "alias");
    String targets = targets(alias.targets()).toString();
    transactions.executeWithoutResult(status -> {
      var now = clock.instant().atOffset(ZoneOffset.UTC);
      int updated = jdbc.sql("UPDATE model_aliases SET targets = ?, sticky = ?,"
              + " session_header = ?, revision = revision + 1, updated_at = ? WHERE name = ?")
          .params(targets, alias.sticky().label(), alias.sessionHeader(), now, alias.name())
          .update();
      if (updated == 0) {
        try {
          jdbc.sql("INSERT INTO model_aliases (name, targets, sticky, session_header, revision,"
                  + " updated_at) VALUES (?, ?, ?, ?, 1, ?)")
              .params(alias.name(), targets, alias.sticky().label(), alias.sessionHeader(), now)
              .update();
        } catch (DuplicateKeyException e) {
          throw new IllegalStateException("alias '" + alias.name()
              + "' was set at the same moment by another call; retry", e);
        }
      }
      String detail = json(alias).toString();
      audit.write(actor, "alias.set", alias.name(),
          detail.length() > 4000 ? detail.substring(0, 4000) : detail);
    });
  }

  /**
   * Clears the override of {@code name}.
   *
   * @return whether there was one
   */
  public boolean clear(String name, Principal actor) {
    Boolean cleared = transactions.execute(status -> {
      int deleted = jdbc.sql("DELETE FROM model_aliases WHERE name = ?").param(name).update();
      if (deleted > 0) {
        audit.write(actor, "alias.clear", name, "");
      }
      return deleted > 0;
    });
    return Boolean.TRUE.equals(cleared);
  }

  /** Every override by alias name. */
  public Map<String, ModelwayConfig.Alias> all() {
    Map<String, ModelwayConfig.Alias> all = new LinkedHashMap<>();
    jdbc.sql("SELECT name, targets, sticky, session_header FROM model_aliases ORDER BY name")
        .query((rs, row) -> {
          List<ModelwayConfig.Target> targets = new ArrayList<>();
          for (JsonNode t : JSON.readTree(rs.getString("targets"))) {
            targets.add(new ModelwayConfig.Target(t.path("model").asString(),
                t.path("weight").asInt()));
          }
          return new ModelwayConfig.Alias(rs.getString("name"), targets,
              ModelwayConfig.Sticky.valueOf(
                  rs.getString("sticky").toUpperCase(java.util.Locale.ROOT)),
              rs.getString("session_header"));
        })
        .list()
        .forEach(a -> all.put(a.name(), a));
    return all;
  }

  static ArrayNode targets(List<ModelwayConfig.Target> targets) {
    ArrayNode array = JSON.createArrayNode();
    targets.forEach(t -> array.addObject().put("model", t.model()).put("weight", t.weight()));
    return array;
  }

  /** {@code alias} as the admin API shows it. */
  static ObjectNode json(ModelwayConfig.Alias alias) {
    ObjectNode node = JSON.createObjectNode().put("id", alias.name()).put("object", "model.alias");
    node.set("targets", targets(alias.targets()));
    node.put("sticky", alias.sticky().label()).put("session_header", alias.sessionHeader());
    return node;
  }
}
