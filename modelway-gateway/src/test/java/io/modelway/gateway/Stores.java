package io.modelway.gateway;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.flywaydb.core.Flyway;

/**
 * The two stores Modelway runs on, migrated by its own Flyway scripts: an H2 file (embedded) and
 * a fresh database on the machine's real PostgreSQL (127.0.0.1:5432, user postgres), dropped
 * on close.
 */
public final class Stores {
  private Stores() {}

  /** A migrated store; closing it drops what it created. */
  public record Store(String kind, HikariDataSource dataSource, Runnable drop) implements AutoCloseable {
    @Override
    public void close() {
      dataSource.close();
      drop.run();
    }

    @Override
    public String toString() {
      return kind;
    }
  }

  public static Store h2(Path dir) {
    return migrated("h2", "jdbc:h2:file:" + dir.resolve("db").toAbsolutePath()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH", () -> {});
  }

  static final String POSTGRES = "jdbc:postgresql://127.0.0.1:5432/";

  public static Store postgres() {
    String name = "modelway_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    execute("CREATE DATABASE " + name);
    return migrated("postgresql", POSTGRES + name + "?user=postgres",
        () -> execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"));
  }

  private static Store migrated(String kind, String url, Runnable drop) {
    HikariDataSource dataSource = new HikariDataSource();
    dataSource.setJdbcUrl(url);
    dataSource.setMaximumPoolSize(4);
    Flyway.configure().dataSource(dataSource).load().migrate();
    return new Store(kind, dataSource, drop);
  }

  private static void execute(String sql) {
    try (Connection c = DriverManager.getConnection(POSTGRES + "postgres?user=postgres");
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL at 127.0.0.1:5432 (user postgres): " + sql, e);
    }
  }
}
