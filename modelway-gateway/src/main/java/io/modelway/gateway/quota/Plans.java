package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.ApiKeys.Refused;
import io.modelway.gateway.cache.CachePolicy;
import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.scheduling.Priority;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Plans in the store, each change written to the audit log in the same transaction. Blocking
 * (JDBC): call it off the event loops. Thread-safe.
 */
public final class Plans {
  private static final String COLUMNS = "id, requests_per_minute, tokens_per_minute,"
      + " max_concurrent, allowed_models, model_limits, monthly_tokens, monthly_budget,"
      + " budget_currency, budget_hard, priority, weight, cache_policy, revision";

  private final JdbcClient jdbc;
  private final TransactionTemplate transactions;
  private final Clock clock;
  private final AuditLog audit;

  public Plans(DataSource dataSource, TransactionTemplate transactions, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.transactions = requireNonNull(transactions, "transactions");
    this.clock = requireNonNull(clock, "clock");
    this.audit = new AuditLog(dataSource, clock);
  }

  /**
   * Stores a new plan at revision 1.
   *
   * @throws Refused when its id is taken
   */
  public Plan create(Plan plan, Principal actor) {
    return create(plan, PlanOffer.NONE, actor);
  }

  /**
   * Stores a new plan at revision 1, offered to {@code offer}'s tenants.
   *
   * @throws Refused when its id is taken or an offered tenant does not exist
   */
  public Plan create(Plan plan, PlanOffer offer, Principal actor) {
    Plan first = plan.withRevision(1);
    return transactions.execute(status -> {
      try {
        jdbc.sql("INSERT INTO plans (" + COLUMNS + ", created_at, updated_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .params(values(first, now(), now())).update();
      } catch (DuplicateKeyException e) {
        throw new Refused("plan '" + plan.id() + "' already exists");
      }
      writeOffer(plan.id(), offer);
      audit.write(actor, "plan.create", plan.id(), PlanJson.write(first).toString()
          + " offered_to=" + offer);
      return first;
    });
  }

  /** {@link #replace(Plan, Optional, Principal)} keeping the plan's offer. */
  public Plan replace(Plan plan, Principal actor) {
    return replace(plan, Optional.empty(), actor);
  }

  /**
   * Replaces plan {@code plan.id()} whole, at the next revision, and its offer when {@code
   * offer} is given (else the offer stays).
   *
   * @throws Refused when there is no such plan or an offered tenant does not exist
   */
  public Plan replace(Plan plan, Optional<PlanOffer> offer, Principal actor) {
    return transactions.execute(status -> {
      Plan old = plan(plan.id()).orElseThrow(() -> new Refused("no plan '" + plan.id() + "'"));
      Plan next = plan.withRevision(old.revision() + 1);
      jdbc.sql("UPDATE plans SET requests_per_minute = ?, tokens_per_minute = ?,"
              + " max_concurrent = ?, allowed_models = ?, model_limits = ?, monthly_tokens = ?,"
              + " monthly_budget = ?, budget_currency = ?, budget_hard = ?, priority = ?,"
              + " weight = ?, cache_policy = ?, revision = ?, updated_at = ? WHERE id = ?")
          .params(Arrays.copyOfRange(values(next, now(), next.id()), 1, 16))
          .update();
      offer.ifPresent(o -> writeOffer(plan.id(), o));
      audit.write(actor, "plan.update", plan.id(), PlanJson.write(next).toString()
          + offer.map(o -> " offered_to=" + o).orElse(""));
      return next;
    });
  }

  private void writeOffer(String id, PlanOffer offer) {
    jdbc.sql("UPDATE plans SET offered_to_all = ? WHERE id = ?").params(offer.all(), id).update();
    jdbc.sql("DELETE FROM plan_offers WHERE plan_id = ?").param(id).update();
    for (String tenant : offer.tenants().stream().sorted().toList()) {
      if (jdbc.sql("SELECT COUNT(*) FROM tenants WHERE id = ?").param(tenant).query(Long.class)
          .single() == 0) {
        throw new Refused("no tenant '" + tenant + "'");
      }
      jdbc.sql("INSERT INTO plan_offers (plan_id, tenant_id) VALUES (?, ?)").params(id, tenant)
          .update();
    }
  }

  /** To whom plan {@code id} is offered; empty when there is no such plan. */
  public Optional<PlanOffer> offer(String id) {
    Optional<Boolean> all = jdbc.sql("SELECT offered_to_all FROM plans WHERE id = ?").param(id)
        .query(Boolean.class).optional();
    return all.map(a -> a ? PlanOffer.ALL : new PlanOffer(false, Set.copyOf(
        jdbc.sql("SELECT tenant_id FROM plan_offers WHERE plan_id = ?").param(id)
            .query(String.class).list())));
  }

  /** Every plan's offer, by plan id. */
  public Map<String, PlanOffer> offers() {
    Map<String, Set<String>> listed = new HashMap<>();
    jdbc.sql("SELECT plan_id, tenant_id FROM plan_offers").query(rs -> {
      listed.computeIfAbsent(rs.getString(1), k -> new java.util.HashSet<>()).add(rs.getString(2));
    });
    Map<String, PlanOffer> offers = new HashMap<>();
    jdbc.sql("SELECT id, offered_to_all FROM plans").query(rs -> {
      String id = rs.getString(1);
      offers.put(id, rs.getBoolean(2) ? PlanOffer.ALL
          : new PlanOffer(false, listed.getOrDefault(id, Set.of())));
    });
    return offers;
  }

  /**
   * Deletes plan {@code id}.
   *
   * @throws Refused when there is no such plan, or a tenant or key is on it
   */
  public void delete(String id, Principal actor) {
    transactions.executeWithoutResult(status -> {
      int deleted;
      try {
        deleted = jdbc.sql("DELETE FROM plans WHERE id = ?").param(id).update();
      } catch (DataIntegrityViolationException e) {
        throw new Refused("plan '" + id + "' is in use by a tenant or a key; move them to"
            + " another plan first");
      }
      if (deleted == 0) {
        throw new Refused("no plan '" + id + "'");
      }
      audit.write(actor, "plan.delete", id, "");
    });
  }

  public List<Plan> plans() {
    return jdbc.sql("SELECT " + COLUMNS + " FROM plans ORDER BY id").query((rs, row) -> plan(rs))
        .list();
  }

  public Optional<Plan> plan(String id) {
    return jdbc.sql("SELECT " + COLUMNS + " FROM plans WHERE id = ?").param(id)
        .query((rs, row) -> plan(rs)).optional();
  }

  /** Every plan by id, for the Admit stage's snapshot. */
  public Map<String, Plan> byId() {
    Map<String, Plan> all = new HashMap<>();
    plans().forEach(p -> all.put(p.id(), p));
    return all;
  }

  private java.time.OffsetDateTime now() {
    return clock.instant().atOffset(ZoneOffset.UTC);
  }

  private static Object[] values(Plan plan, Object... more) {
    Limits l = plan.limits();
    Object[] columns = {plan.id(),
        l.requestsPerMinute().isPresent() ? l.requestsPerMinute().getAsLong() : null,
        l.tokensPerMinute().isPresent() ? l.tokensPerMinute().getAsLong() : null,
        l.maxConcurrent().isPresent() ? l.maxConcurrent().getAsInt() : null,
        plan.allowedModels().isEmpty() ? null
            : String.join("\n", plan.allowedModels().stream().sorted().toList()),
        plan.modelLimits().isEmpty() ? null : PlanJson.modelLimits(plan).toString(),
        plan.quota().monthlyTokens().isPresent() ? plan.quota().monthlyTokens().getAsLong() : null,
        plan.quota().monthlyBudget().orElse(null), plan.quota().currency().orElse(null),
        plan.quota().any() ? plan.quota().hard() : null,
        plan.priority().label(), plan.weight(),
        plan.cache().any() ? String.valueOf(PlanJson.writeCache(plan.cache())) : null,
        plan.revision()};
    Object[] all = Arrays.copyOf(columns, columns.length + more.length);
    System.arraycopy(more, 0, all, columns.length, more.length);
    return all;
  }

  private static Plan plan(ResultSet rs) throws SQLException {
    String id = rs.getString("id");
    String models = rs.getString("allowed_models");
    String modelLimits = rs.getString("model_limits");
    Map<String, Limits> perModel = modelLimits == null ? Map.of()
        : PlanJson.read(id, PlanJson.JSON.createObjectNode()
            .set("model_limits", PlanJson.JSON.readTree(modelLimits)), 0).modelLimits();
    Set<String> allowed = models == null || models.isEmpty() ? Set.of()
        : Arrays.stream(models.split("\n")).collect(Collectors.toUnmodifiableSet());
    Quota quota = new Quota(optionalLong(rs, "monthly_tokens"),
        Optional.ofNullable(rs.getBigDecimal("monthly_budget")),
        Optional.ofNullable(rs.getString("budget_currency")).map(String::trim),
        !Boolean.FALSE.equals(rs.getObject("budget_hard", Boolean.class)));
    return new Plan(id, new Limits(optionalLong(rs, "requests_per_minute"),
        optionalLong(rs, "tokens_per_minute"), optionalInt(rs, "max_concurrent")),
        allowed, perModel, quota,
        Optional.ofNullable(rs.getString("priority")).flatMap(Priority::parse)
            .orElse(Priority.STANDARD),
        optionalInt(rs, "weight").orElse(1),
        Optional.ofNullable(rs.getString("cache_policy"))
            .map(json -> PlanJson.cache(PlanJson.JSON.readTree(json))).orElse(CachePolicy.NONE),
        rs.getLong("revision"));
  }

  private static java.util.OptionalLong optionalLong(ResultSet rs, String column)
      throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(value);
  }

  private static java.util.OptionalInt optionalInt(ResultSet rs, String column)
      throws SQLException {
    int value = rs.getInt(column);
    return rs.wasNull() ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(value);
  }
}
