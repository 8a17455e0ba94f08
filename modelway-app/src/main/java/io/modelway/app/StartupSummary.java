package io.modelway.app;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.auth.ApiKeys;
import io.modelway.gateway.auth.SharedSecret;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.runtime.ModelHost;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The block a person reads once the server listens: where, which models on which backends,
 * where the admin key came from, where the data and the config are.
 *
 * <pre>
 * Modelway 0.1.0 up (all-in-one) in 3.2 s
 *   Listening on http://127.0.0.1:8080/v1 (admin API /admin/v1, health /actuator/health)
 *   Models: chat -> sim, all-minilm-l6-v2 (local, ready)
 *   Backends: sim = http://127.0.0.1:8000/v1
 *   Admin key: from MODELWAY_ADMIN_KEY
 *   Data: /root/.modelway (H2 store, SQLite ledger); config: /x/modelway.yaml (watched)
 * </pre>
 *
 * <p>A server on every address ({@code --host 0.0.0.0}, the default) is shown at {@code
 * localhost}, the address a person on the same machine would try first:
 *
 * <pre>
 *   Listening on http://localhost:8080/v1 (every address; admin API /admin/v1, health …)
 * </pre>
 */
final class StartupSummary {
  private StartupSummary() {}

  /**
   * Whether {@code options} start on a store that does not exist yet (an H2 file not yet
   * made): an all-in-one's first start, which creates the admin key and prints it.
   */
  static boolean isFirstStart(GatewayOptions options) {
    return options.databaseUrl().isEmpty()
        && !Files.exists(options.dataDir().resolve("db").resolve("modelway.mv.db"));
  }

  /**
   * @param firstStart whether the store did not exist before this start ({@link #isFirstStart})
   * @param took since the JVM started
   */
  static String of(ConfigurableApplicationContext context, GatewayOptions options,
      boolean firstStart, String version, Duration took) {
    Catalog catalog = context.getBean(LiveCatalog.class).current();
    StringBuilder s = new StringBuilder();
    s.append("Modelway ").append(version).append(" up (")
        .append(options.role().name().toLowerCase(Locale.ROOT).replace('_', '-'))
        .append(") in ").append(String.format(Locale.ROOT, "%.1f s", took.toMillis() / 1000.0));
    boolean everywhere = everyAddress(options.host());
    s.append("\n  Listening on ").append(url(options.host(), GatewayRole.port(context)))
        .append(everywhere ? " (every address; " : " (")
        .append("admin API /admin/v1, health /actuator/health)");
    s.append("\n  Models: ").append(models(catalog, options.models()));
    if (options.role() != GatewayOptions.Role.WORKER) {
      s.append("\n  Backends: ").append(backends(catalog.config()));
    }
    s.append("\n  Admin key: ").append(adminKey(context, options, firstStart));
    s.append("\n  Data: ").append(options.dataDir().toAbsolutePath()).append(" (")
        .append(store(options)).append(')');
    if (options.role() != GatewayOptions.Role.WORKER) {
      s.append("; config: ").append(options.configFile()
          .map(file -> file.toAbsolutePath() + " (watched)")
          .orElse("none (pass --config FILE or write DIR/modelway.yaml)"));
    }
    return s.toString();
  }

  /** The API's base URL; a server on every address is shown at {@code localhost}. */
  static String url(String host, int port) {
    String shown = everyAddress(host) ? "localhost" : host.contains(":") ? "[" + host + "]" : host;
    return "http://" + shown + ":" + port + "/v1";
  }

  private static boolean everyAddress(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
  }

  private static String models(Catalog catalog, ModelHost local) {
    List<String> parts = new ArrayList<>();
    for (ModelwayConfig.Model model : catalog.config().models()) {
      parts.add(model.id() + " -> " + model.pool().stream()
          .map(ModelwayConfig.PoolBackend::backend).collect(Collectors.joining(", ")));
    }
    for (ModelHost.Status status : local.statuses()) {
      parts.add(status.name() + " (local, " + status.state().name().toLowerCase(Locale.ROOT) + ")");
    }
    if (parts.isEmpty()) {
      return catalog.backends().isEmpty() ? "none"
          : "none configured; call BACKEND/MODEL, e.g. " + catalog.backends().get(0) + "/<model>";
    }
    return String.join(", ", parts);
  }

  private static String backends(ModelwayConfig config) {
    if (config.backends().isEmpty()) {
      return "none";
    }
    return config.backends().entrySet().stream()
        .sorted(java.util.Map.Entry.comparingByKey())
        .map(e -> e.getKey() + " = " + e.getValue().url())
        .collect(Collectors.joining(", "));
  }

  private static String adminKey(ConfigurableApplicationContext context, GatewayOptions options,
      boolean firstStart) {
    String env = options.environment().apply(SharedSecret.ADMIN_KEY_ENV);
    if (env != null && !env.isBlank()) {
      return "from " + SharedSecret.ADMIN_KEY_ENV;
    }
    ApiKeys keys = context.getBeanProvider(ApiKeys.class).getIfAvailable();
    if (keys != null && keys.hasPlatformAdminKey()) {
      if (firstStart && options.role() == GatewayOptions.Role.ALL_IN_ONE) {
        return "created at this first start (printed above, once; set "
            + SharedSecret.ADMIN_KEY_ENV + " to use your own)";
      }
      return "in the store (printed once, when it was created; set " + SharedSecret.ADMIN_KEY_ENV
          + " to use your own)";
    }
    return "none: set " + SharedSecret.ADMIN_KEY_ENV + " to use the admin API";
  }

  private static String store(GatewayOptions options) {
    if (options.role() == GatewayOptions.Role.WORKER) {
      return "models";
    }
    return options.databaseUrl().isPresent() ? "store and ledger: " + redacted(options.jdbcUrl())
        : "H2 store, SQLite ledger";
  }

  /** A JDBC URL without its query, where a password may be. */
  private static String redacted(String url) {
    int query = url.indexOf('?');
    return query < 0 ? url : url.substring(0, query);
  }
}
