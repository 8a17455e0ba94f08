package io.modelway.gateway.catalog;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The aliases in force: those of the config, overlaid by the runtime overrides an admin set
 * through the admin API (held here as an in-memory snapshot of the store, replaced whole). An
 * override wins over the config's alias of the same name until it is cleared. Thread-safe: a
 * call reads one snapshot and one catalog, so a switch (an override set or cleared, a config
 * reloaded) applies to calls resolved after it, and calls resolved before it finish on the
 * target they were given.
 */
public final class LiveAliases {

  /** Where an alias in force comes from. */
  public enum Source {
    CONFIG, OVERRIDE;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * An alias in force.
   *
   * @param configured the config's alias of the same name, when an override hides it
   */
  public record Entry(ModelwayConfig.Alias alias, Source source,
      Optional<ModelwayConfig.Alias> configured) {
    public Entry {
      requireNonNull(alias, "alias");
      requireNonNull(source, "source");
      requireNonNull(configured, "configured");
    }
  }

  /**
   * The model one call goes to.
   *
   * @param model the concrete model: the alias's chosen target, else the model asked for
   * @param alias the alias asked for, if it was one
   */
  public record Choice(String model, Optional<String> alias) {
    public Choice {
      requireNonNull(model, "model");
      requireNonNull(alias, "alias");
    }
  }

  private volatile Map<String, ModelwayConfig.Alias> overrides = Map.of();

  /** Replaces the overrides with {@code overrides} (by alias name), at once. */
  public void replace(Map<String, ModelwayConfig.Alias> overrides) {
    this.overrides = Map.copyOf(overrides);
  }

  /** The override of {@code name}, if one is set. */
  public Optional<ModelwayConfig.Alias> override(String name) {
    return Optional.ofNullable(overrides.get(name));
  }

  /** The alias {@code name} in force with {@code current}, if there is one. */
  public Optional<ModelwayConfig.Alias> find(Catalog current, String name) {
    ModelwayConfig.Alias override = overrides.get(name);
    return override != null ? Optional.of(override) : current.alias(name);
  }

  /** Every alias in force with {@code current}: the config's in order, then other overrides. */
  public List<Entry> all(Catalog current) {
    Map<String, ModelwayConfig.Alias> set = overrides;
    Map<String, Entry> all = new LinkedHashMap<>();
    for (ModelwayConfig.Alias configured : current.aliases()) {
      ModelwayConfig.Alias override = set.get(configured.name());
      all.put(configured.name(), override == null
          ? new Entry(configured, Source.CONFIG, Optional.empty())
          : new Entry(override, Source.OVERRIDE, Optional.of(configured)));
    }
    List<String> others = new ArrayList<>(set.keySet());
    others.sort(null);
    for (String name : others) {
      all.putIfAbsent(name, new Entry(set.get(name), Source.OVERRIDE, Optional.empty()));
    }
    return List.copyOf(all.values());
  }

  /**
   * The Resolve stage's first step: the concrete model a call to {@code model} goes to. An alias
   * picks one of its targets ({@link TrafficSplit}): sticky per {@code keyId}, or per the session
   * header read with {@code headers}, when the alias says so; any other name is its own model.
   */
  public Choice choose(Catalog current, String model, String keyId,
      Function<String, @Nullable String> headers) {
    Optional<ModelwayConfig.Alias> found = find(current, model);
    if (found.isEmpty()) {
      return new Choice(model, Optional.empty());
    }
    ModelwayConfig.Alias alias = found.get();
    String sticky = switch (alias.sticky()) {
      case NONE -> null;
      case KEY -> keyId;
      case SESSION -> {
        String session = headers.apply(alias.sessionHeader());
        yield session == null || session.isEmpty() ? keyId : "session:" + session;
      }
    };
    ModelwayConfig.Target target = TrafficSplit.choose(alias, sticky,
        sticky == null ? ThreadLocalRandom.current().nextDouble() : 0);
    return new Choice(target.model(), Optional.of(model));
  }
}
