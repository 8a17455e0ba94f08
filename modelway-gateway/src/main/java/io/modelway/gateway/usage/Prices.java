package io.modelway.gateway.usage;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.auth.ApiKeys.Refused;
import io.modelway.gateway.auth.AuditLog;
import io.modelway.gateway.auth.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Prices in the store, each change audited in its transaction, and an in-memory snapshot of them
 * for the request path ({@link #price}), reloaded by {@link #refresh}. The store's methods block
 * (JDBC); {@link #price} does not. Thread-safe.
 */
public final class Prices implements Function<String, Optional<Price>> {
  private final JdbcClient jdbc;
  private final TransactionTemplate transactions;
  private final Clock clock;
  private final AuditLog audit;
  private volatile Map<String, Price> byModel = Map.of();

  public Prices(DataSource dataSource, TransactionTemplate transactions, Clock clock) {
    this.jdbc = JdbcClient.create(requireNonNull(dataSource, "dataSource"));
    this.transactions = requireNonNull(transactions, "transactions");
    this.clock = requireNonNull(clock, "clock");
    this.audit = new AuditLog(dataSource, clock);
  }

  /** The price of {@code model}, from the snapshot. */
  @Override
  public Optional<Price> apply(String model) {
    return Optional.ofNullable(byModel.get(model));
  }

  /** Reloads the snapshot; blocking. */
  public void refresh() {
    Map<String, Price> all = new HashMap<>();
    list().forEach(p -> all.put(p.model(), p));
    byModel = Map.copyOf(all);
  }

  /** Sets the price of {@code price.model()}, replacing any. */
  public Price put(Price price, Principal actor) {
    transactions.executeWithoutResult(status -> {
      Object[] values = {price.currency(), price.input(), price.cachedInput(), price.output(),
          clock.instant().atOffset(ZoneOffset.UTC), price.model()};
      int updated = jdbc.sql("UPDATE prices SET currency = ?, input_per_million = ?,"
              + " cached_input_per_million = ?, output_per_million = ?, updated_at = ?"
              + " WHERE model = ?").params(values).update();
      if (updated == 0) {
        jdbc.sql("INSERT INTO prices (currency, input_per_million, cached_input_per_million,"
            + " output_per_million, updated_at, model) VALUES (?, ?, ?, ?, ?, ?)")
            .params(values).update();
      }
      audit.write(actor, "price.set", price.model(), price.currency() + " input="
          + price.input().toPlainString() + " cached_input=" + price.cachedInput().toPlainString()
          + " output=" + price.output().toPlainString());
    });
    refresh();
    return price;
  }

  /**
   * Removes the price of {@code model}; its calls cost nothing from then on.
   *
   * @throws Refused when it has none
   */
  public void delete(String model, Principal actor) {
    transactions.executeWithoutResult(status -> {
      if (jdbc.sql("DELETE FROM prices WHERE model = ?").param(model).update() == 0) {
        throw new Refused("no price for model '" + model + "'");
      }
      audit.write(actor, "price.delete", model, "");
    });
    refresh();
  }

  public List<Price> list() {
    return jdbc.sql("SELECT model, currency, input_per_million, cached_input_per_million,"
            + " output_per_million FROM prices ORDER BY model")
        .query((rs, row) -> price(rs)).list();
  }

  private static Price price(ResultSet rs) throws SQLException {
    return new Price(rs.getString(1), rs.getString(2).trim(), rs.getBigDecimal(3),
        rs.getBigDecimal(4), rs.getBigDecimal(5));
  }
}
