package io.modelway.gateway.auth;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.ZoneOffset;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Writes the audit log of admin changes. Call it inside the transaction that makes the change,
 * so that a change and its entry are stored together or not at all. Blocking; thread-safe.
 */
public final class AuditLog {
  private final JdbcClient jdbc;
  private final Clock clock;

  public AuditLog(DataSource dataSource, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.clock = requireNonNull(clock, "clock");
  }

  /** What the columns {@code target} and {@code detail} hold, in characters. */
  static final int MAX_TARGET = 200;
  static final int MAX_DETAIL = 4000;

  /**
   * Records that {@code actor} (none: the system itself) did {@code action} to {@code target}.
   * A target or detail longer than its column is cut, ending in '…': a change the admin API
   * accepted is never refused for the length of its record.
   */
  public void write(@Nullable Principal actor, String action, String target, String detail) {
    target = cut(target, MAX_TARGET);
    detail = cut(detail, MAX_DETAIL);
    jdbc.sql("""
            INSERT INTO audit_log (at, actor_key_id, actor_tenant_id, action, target, detail)
            VALUES (?, ?, ?, ?, ?, ?)""")
        .params(clock.instant().atOffset(ZoneOffset.UTC), actor == null ? null : actor.keyId(),
            actor == null ? null : actor.tenantId(), action, target, detail)
        .update();
  }

  private static String cut(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int end = max - 1;
    if (Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end) + "…";
  }
}
