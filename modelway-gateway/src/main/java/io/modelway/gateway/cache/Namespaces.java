package io.modelway.gateway.cache;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.ApiKeys.Refused;
import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.Principal;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Cache namespaces: by default each tenant has its own (named by its id), so no tenant is ever
 * answered from another's entries. A platform admin may put tenants in a shared namespace
 * ({@code shared:NAME}), whose members then share entries. The store is blocking (JDBC); the
 * request path reads the snapshot, reloaded after each change here and periodically for changes
 * made through other replicas. Thread-safe.
 */
public final class Namespaces implements Function<String, String> {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
  /** What a shared namespace's name starts with; tenant ids cannot contain ':'. */
  static final String SHARED = "shared:";

  private final JdbcClient jdbc;
  private final TransactionTemplate transactions;
  private final AuditLog audit;
  private final Clock clock;
  private volatile Map<String, String> shared = Map.of();

  public Namespaces(DataSource dataSource, TransactionTemplate transactions, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.transactions = requireNonNull(transactions, "transactions");
    this.clock = requireNonNull(clock, "clock");
    this.audit = new AuditLog(dataSource, clock);
  }

  /** Whether {@code name} is a well-formed shared namespace name. */
  public static boolean validName(String name) {
    return NAME.matcher(name).matches();
  }

  /** The namespace {@code tenantId}'s calls read and write. */
  @Override
  public String apply(String tenantId) {
    String name = shared.get(tenantId);
    return name == null ? tenantId : SHARED + name;
  }

  /** Every tenant in a shared namespace, with its name. */
  public Map<String, String> sharedNamespaces() {
    return shared;
  }

  /** Reloads the snapshot; blocking. */
  public void refresh() {
    Map<String, String> now = new HashMap<>();
    jdbc.sql("SELECT tenant_id, shared FROM cache_namespaces")
        .query(rs -> {
          now.put(rs.getString(1), rs.getString(2));
        });
    shared = Map.copyOf(now);
  }

  /**
   * Puts {@code tenantId} in the shared namespace {@code name}.
   *
   * @throws Refused when there is no such tenant
   */
  public void share(String tenantId, String name, Principal actor) {
    if (!validName(name)) {
      throw new IllegalArgumentException(name);
    }
    transactions.executeWithoutResult(status -> {
      try {
        int changed = jdbc.sql("UPDATE cache_namespaces SET shared = ?, updated_at = ?"
                + " WHERE tenant_id = ?")
            .params(name, clock.instant().atOffset(ZoneOffset.UTC), tenantId).update();
        if (changed == 0) {
          jdbc.sql("INSERT INTO cache_namespaces (tenant_id, shared, updated_at) VALUES (?, ?, ?)")
              .params(tenantId, name, clock.instant().atOffset(ZoneOffset.UTC)).update();
        }
      } catch (DataIntegrityViolationException e) {
        throw new Refused("no tenant '" + tenantId + "'");
      }
      audit.write(actor, "cache.namespace.share", tenantId, name);
    });
    refresh();
  }

  /** Gives {@code tenantId} its own namespace again; whether it was in a shared one. */
  public boolean unshare(String tenantId, Principal actor) {
    Boolean was = transactions.execute(status -> {
      int changed = jdbc.sql("DELETE FROM cache_namespaces WHERE tenant_id = ?")
          .param(tenantId).update();
      if (changed > 0) {
        audit.write(actor, "cache.namespace.unshare", tenantId, "");
      }
      return changed > 0;
    });
    refresh();
    return Boolean.TRUE.equals(was);
  }
}
