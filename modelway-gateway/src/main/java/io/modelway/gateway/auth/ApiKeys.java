package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Tenants and their API keys in the store, with every change written to the audit log in the
 * same transaction. Blocking (JDBC): call it off the event loops. Thread-safe.
 */
public final class ApiKeys {
  private static final Pattern TENANT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /**
   * A tenant.
   *
   * @param plan the plan whose limits count all the tenant's calls together; none: unlimited
   */
  public record Tenant(String id, String name, Instant createdAt, Optional<String> plan) {}

  /**
   * What to issue a key with.
   *
   * @param allowedModels empty: every model
   * @param expiresAt empty: never expires
   * @param plan the key's own plan, counting its calls on top of its tenant's plan
   */
  public record NewKey(String tenantId, Optional<String> project, String name, Role role,
      Set<String> allowedModels, Optional<Instant> expiresAt, Optional<String> plan) {
    public NewKey {
      requireNonNull(tenantId, "tenantId");
      requireNonNull(project, "project");
      requireNonNull(name, "name");
      requireNonNull(role, "role");
      allowedModels = Set.copyOf(requireNonNull(allowedModels, "allowedModels"));
      requireNonNull(expiresAt, "expiresAt");
      requireNonNull(plan, "plan");
    }
  }

  /** A key just issued: the only time its secret is known to anyone but its holder. */
  public record IssuedKey(ApiKey key, String secret) {}

  /** A change was refused; the message says why. */
  public static final class Refused extends RuntimeException {
    public Refused(String message) {
      super(message, null, false, false);
    }
  }

  private final JdbcClient jdbc;
  private final TransactionTemplate transactions;
  private final Clock clock;
  private final AuditLog auditLog;

  public ApiKeys(DataSource dataSource, TransactionTemplate transactions, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.transactions = requireNonNull(transactions, "transactions");
    this.clock = requireNonNull(clock, "clock");
    this.auditLog = new AuditLog(dataSource, clock);
  }

  /** Whether {@code id} is a well-formed tenant id. */
  public static boolean validTenantId(String id) {
    return TENANT_ID.matcher(id).matches();
  }

  /**
   * @throws Refused when the id is malformed or taken
   */
  public Tenant createTenant(String id, String name, Optional<String> plan, Principal actor) {
    if (!TENANT_ID.matcher(id).matches()) {
      throw new Refused("tenant id '" + id + "' is not valid (expected: 1 to 64 lower-case"
          + " letters, digits, '-' or '_', starting with a letter or digit)");
    }
    Instant now = clock.instant();
    return transactions.execute(status -> {
      try {
        jdbc.sql("INSERT INTO tenants (id, name, created_at, plan_id) VALUES (?, ?, ?, ?)")
            .params(id, name, utc(now), plan.orElse(null)).update();
      } catch (DuplicateKeyException e) {
        throw new Refused("tenant '" + id + "' already exists");
      } catch (DataIntegrityViolationException e) {
        throw new Refused("no plan '" + plan.orElse("") + "'");
      }
      audit(actor, "tenant.create", id, name + plan.map(p -> " plan=" + p).orElse(""));
      return new Tenant(id, name, now, plan);
    });
  }

  public List<Tenant> tenants() {
    return jdbc.sql("SELECT id, name, created_at, plan_id FROM tenants ORDER BY id")
        .query((rs, row) -> tenant(rs)).list();
  }

  public Optional<Tenant> tenant(String id) {
    return jdbc.sql("SELECT id, name, created_at, plan_id FROM tenants WHERE id = ?").param(id)
        .query((rs, row) -> tenant(rs)).optional();
  }

  private static Tenant tenant(ResultSet rs) throws SQLException {
    return new Tenant(rs.getString(1), rs.getString(2), instant(rs, 3),
        Optional.ofNullable(rs.getString(4)));
  }

  /**
   * Puts tenant {@code id} on {@code plan}, or on none.
   *
   * @throws Refused when there is no such tenant or plan
   */
  public Tenant setTenantPlan(String id, Optional<String> plan, Principal actor) {
    return transactions.execute(status -> {
      int changed;
      try {
        changed = jdbc.sql("UPDATE tenants SET plan_id = ? WHERE id = ?")
            .params(plan.orElse(null), id).update();
      } catch (DataIntegrityViolationException e) {
        throw new Refused("no plan '" + plan.orElse("") + "'");
      }
      if (changed == 0) {
        throw new Refused("no tenant '" + id + "'");
      }
      audit(actor, "tenant.plan", id, "plan=" + plan.orElse("none"));
      return tenant(id).orElseThrow();
    });
  }

  /**
   * Gives key {@code id} its own {@code plan}, or none.
   *
   * @throws Refused when there is no such key or plan
   */
  public ApiKey setKeyPlan(String id, Optional<String> plan, Principal actor) {
    return transactions.execute(status -> {
      int changed;
      try {
        changed = jdbc.sql("UPDATE api_keys SET plan_id = ? WHERE id = ?")
            .params(plan.orElse(null), id).update();
      } catch (DataIntegrityViolationException e) {
        throw new Refused("no plan '" + plan.orElse("") + "'");
      }
      if (changed == 0) {
        throw new Refused("no key '" + id + "'");
      }
      audit(actor, "key.plan", id, "plan=" + plan.orElse("none"));
      return key(id).orElseThrow();
    });
  }

  /**
   * Issues a key; its secret is in the result and nowhere else.
   *
   * @throws Refused when the tenant does not exist
   */
  public IssuedKey issue(NewKey spec, Principal actor) {
    return transactions.execute(status -> {
      IssuedKey issued = insert(spec);
      audit(actor, "key.create", issued.key().id(), "tenant=" + spec.tenantId() + " role="
          + spec.role().label());
      return issued;
    });
  }

  private IssuedKey insert(NewKey spec) {
    if (tenant(spec.tenantId()).isEmpty()) {
      throw new Refused("no tenant '" + spec.tenantId() + "'");
    }
    String secret = KeySecrets.generate();
    Instant now = clock.instant();
    ApiKey key = new ApiKey(KeySecrets.newId(), spec.tenantId(), spec.project(), spec.name(),
        KeySecrets.shown(secret), spec.role(), spec.allowedModels(), now, spec.expiresAt(),
        Optional.empty(), spec.plan());
    try {
      jdbc.sql("""
            INSERT INTO api_keys (id, tenant_id, project, name, prefix, secret_sha256, role,
                allowed_models, created_at, expires_at, revoked_at, plan_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)""")
        .params(key.id(), key.tenantId(), key.project().orElse(null), key.name(), key.prefix(),
            KeySecrets.sha256(secret), key.role().label(),
            key.allowedModels().isEmpty() ? null : String.join(",", key.allowedModels().stream().sorted().toList()),
            utc(now), key.expiresAt().map(ApiKeys::utc).orElse(null), key.plan().orElse(null))
        .update();
    } catch (DataIntegrityViolationException e) {
      throw new Refused("no plan '" + key.plan().orElse("") + "'");
    }
    return new IssuedKey(key, secret);
  }

  /** Keys of {@code tenantId}, or of every tenant when empty; newest first. */
  public List<ApiKey> keys(Optional<String> tenantId) {
    String select = "SELECT " + COLUMNS + " FROM api_keys";
    return (tenantId.isPresent()
        ? jdbc.sql(select + " WHERE tenant_id = ? ORDER BY created_at DESC, id").param(tenantId.get())
        : jdbc.sql(select + " ORDER BY created_at DESC, id"))
        .query((rs, row) -> key(rs)).list();
  }

  public Optional<ApiKey> key(String id) {
    return jdbc.sql("SELECT " + COLUMNS + " FROM api_keys WHERE id = ?").param(id)
        .query((rs, row) -> key(rs)).optional();
  }

  /** Every key by the SHA-256 of its secret, for the authenticator's snapshot. */
  public java.util.Map<String, ApiKey> byHash() {
    java.util.Map<String, ApiKey> all = new java.util.HashMap<>();
    jdbc.sql("SELECT " + COLUMNS + ", secret_sha256 FROM api_keys")
        .query(rs -> {
          all.put(rs.getString("secret_sha256").trim(), key(rs));
        });
    return all;
  }

  /** Every tenant, with its plan if it has one. */
  public java.util.Map<String, Optional<String>> tenantPlans() {
    java.util.Map<String, Optional<String>> plans = new java.util.HashMap<>();
    jdbc.sql("SELECT id, plan_id FROM tenants")
        .query(rs -> {
          plans.put(rs.getString(1), Optional.ofNullable(rs.getString(2)));
        });
    return plans;
  }

  /** Whether any platform admin key is in the store (revoked or not). */
  public boolean hasPlatformAdminKey() {
    return jdbc.sql("SELECT COUNT(*) FROM api_keys WHERE role = ?")
        .param(Role.PLATFORM_ADMIN.label()).query(Long.class).single() > 0;
  }

  /**
   * Revokes {@code id} at once.
   *
   * @throws Refused when there is no such key
   */
  public ApiKey revoke(String id, Principal actor) {
    Instant now = clock.instant();
    return transactions.execute(status -> {
      int changed = jdbc.sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
          .params(utc(now), id).update();
      ApiKey key = key(id).orElseThrow(() -> new Refused("no key '" + id + "'"));
      if (changed > 0) {
        audit(actor, "key.revoke", id, "tenant=" + key.tenantId());
      }
      return key;
    });
  }

  /**
   * Issues a new key like {@code id} and lets the old one expire after {@code grace} (sooner if
   * it was to expire sooner anyway), so clients can move over without an outage. The new key
   * keeps the old one's expiry rule: it lives {@code lifetime} when given, else as long as the
   * old key was issued for (its expiry less its creation), else forever like the old one.
   *
   * @throws Refused when there is no such key, or it is revoked or expired: rotation never
   *     revives a key an admin let lapse
   */
  public IssuedKey rotate(String id, Duration grace, Optional<Duration> lifetime,
      Principal actor) {
    Instant now = clock.instant();
    return transactions.execute(status -> {
      ApiKey old = key(id).orElseThrow(() -> new Refused("no key '" + id + "'"));
      if (old.revokedAt().isPresent()) {
        throw new Refused("key '" + id + "' is revoked; issue a new one instead");
      }
      if (!old.validAt(now)) {
        throw new Refused("key '" + id + "' expired at " + old.expiresAt().orElseThrow()
            + "; issue a new one instead");
      }
      Instant until = now.plus(grace);
      if (old.expiresAt().map(until::isAfter).orElse(false)) {
        until = old.expiresAt().get();
      }
      Optional<Instant> expires = lifetime.or(() -> old.expiresAt()
              .map(e -> Duration.between(old.createdAt(), e)))
          .map(now::plus);
      jdbc.sql("UPDATE api_keys SET expires_at = ? WHERE id = ?").params(utc(until), id).update();
      IssuedKey fresh = insert(new NewKey(old.tenantId(), old.project(), old.name(), old.role(),
          old.allowedModels(), expires, old.plan()));
      audit(actor, "key.rotate", id, "new=" + fresh.key().id() + " old valid until " + until
          + expires.map(e -> " new expires " + e).orElse(""));
      return fresh;
    });
  }

  /**
   * The key of the platform administrators created at first start of {@code modelway up}, when
   * {@code MODELWAY_ADMIN_KEY} is not set and none exists yet.
   */
  public Optional<IssuedKey> bootstrapAdminKey() {
    return transactions.execute(status -> {
      if (hasPlatformAdminKey()) {
        return Optional.<IssuedKey>empty();
      }
      IssuedKey key = insert(new NewKey(Principal.ADMIN_TENANT, Optional.empty(),
          "bootstrap admin key", Role.PLATFORM_ADMIN, Set.of(), Optional.empty(),
          Optional.empty()));
      audit(null, "key.bootstrap", key.key().id(), "first start");
      return Optional.of(key);
    });
  }

  private void audit(@Nullable Principal actor, String action, String target, String detail) {
    auditLog.write(actor, action, target, detail);
  }

  /** An audit log entry. */
  public record AuditEntry(Instant at, Optional<String> actorKeyId, Optional<String> actorTenantId,
      String action, String target, String detail) {}

  /** The newest {@code limit} audit entries, newest first. */
  public List<AuditEntry> audit(int limit) {
    return jdbc.sql("SELECT at, actor_key_id, actor_tenant_id, action, target, detail"
            + " FROM audit_log ORDER BY id DESC LIMIT ?")
        .param(limit)
        .query((rs, row) -> new AuditEntry(instant(rs, 1), Optional.ofNullable(rs.getString(2)),
            Optional.ofNullable(rs.getString(3)), rs.getString(4), rs.getString(5),
            rs.getString(6) == null ? "" : rs.getString(6)))
        .list();
  }

  private static final String COLUMNS = "id, tenant_id, project, name, prefix, role,"
      + " allowed_models, created_at, expires_at, revoked_at, plan_id";

  private static ApiKey key(ResultSet rs) throws SQLException {
    String models = rs.getString("allowed_models");
    return new ApiKey(rs.getString("id"), rs.getString("tenant_id"),
        Optional.ofNullable(rs.getString("project")), rs.getString("name"),
        rs.getString("prefix"), Role.parse(rs.getString("role")),
        models == null || models.isEmpty() ? Set.of()
            : Arrays.stream(models.split(",")).collect(Collectors.toUnmodifiableSet()),
        instant(rs, "created_at"), Optional.ofNullable(nullableInstant(rs, "expires_at")),
        Optional.ofNullable(nullableInstant(rs, "revoked_at")),
        Optional.ofNullable(rs.getString("plan_id")));
  }

  private static OffsetDateTime utc(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    return rs.getObject(column, OffsetDateTime.class).toInstant();
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, OffsetDateTime.class).toInstant();
  }

  private static @Nullable Instant nullableInstant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
