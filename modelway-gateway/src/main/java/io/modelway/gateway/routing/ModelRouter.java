package io.modelway.gateway.routing;

import static java.util.Objects.requireNonNull;

import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.LiveAliases;
import io.modelway.gateway.catalog.LiveCatalog;
import io.modelway.gateway.registry.Instance;
import io.modelway.gateway.registry.Registry;
import io.modelway.openai.OpenAiException;
import io.modelway.runtime.ModelHost;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves a model name to where its calls go, in this order: a model the config names (its pool:
 * the configured backends plus the registered workers that have it ready); a model this process
 * runs; the registered workers that have it ready; {@code BACKEND/MODEL} for any model of a
 * configured backend. Pools are balanced by {@link InstancePools}. Thread-safe; reads only
 * immutable snapshots and concurrent maps.
 */
public final class ModelRouter {

  /** Where a listed model comes from. */
  public enum Source {
    CONFIG, ALIAS, LOCAL, WORKERS;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One model of the listing ({@code GET /v1/models}).
   *
   * @param local its state in this process, for {@link Source#LOCAL}
   * @param instances the workers that list it, for {@link Source#WORKERS}
   * @param alias the alias in force, for {@link Source#ALIAS}
   */
  public record Listed(String id, Source source, Optional<ModelHost.Status> local,
      List<Instance> instances, Optional<LiveAliases.Entry> alias) {
    Listed(String id, Source source, Optional<ModelHost.Status> local, List<Instance> instances) {
      this(id, source, local, instances, Optional.empty());
    }
  }

  private final LiveCatalog catalog;
  private final LiveAliases aliases;
  private final ModelHost local;
  private final Optional<Registry> registry;
  private final InstancePools pools;
  private final Clock clock;

  public ModelRouter(LiveCatalog catalog, LiveAliases aliases, ModelHost local,
      Optional<Registry> registry, InstancePools pools, Clock clock) {
    this.catalog = requireNonNull(catalog, "catalog");
    this.aliases = requireNonNull(aliases, "aliases");
    this.local = requireNonNull(local, "local");
    this.registry = requireNonNull(registry, "registry");
    this.pools = requireNonNull(pools, "pools");
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * The route of {@code model} in {@code current}, or empty when nothing serves it.
   *
   * @throws OpenAiException 503 when the model exists here or on a worker but is not ready, or
   *     is configured but no instance of its pool is ready
   */
  public Optional<Catalog.Route> resolve(Catalog current, String model) {
    Optional<Catalog.Pool> configured = current.pool(model);
    if (configured.isPresent()) {
      Catalog.Pool pool = configured.get();
      return Optional.of(new Catalog.Route(model, pool.upstreamModel(), pools.backendFor(pool)));
    }
    Optional<Catalog.Route> here = local.backend(model)
        .map(backend -> new Catalog.Route(model, model, backend));
    if (here.isPresent()) {
      return here;
    }
    Optional<Catalog.Route> remote = pools.workersFor(model)
        .map(backend -> new Catalog.Route(model, model, backend));
    if (remote.isPresent()) {
      return remote;
    }
    Optional<Catalog.Route> prefixed = current.resolvePrefixed(model);
    if (prefixed.isPresent()) {
      return prefixed;
    }
    Optional<ModelHost.Status> status = local.status(model);
    boolean onWorker = registry.map(r -> r.instances().stream().anyMatch(i -> i.lists(model)))
        .orElse(false);
    if (status.isPresent() || onWorker) {
      String state = status.map(s -> s.state().name().toLowerCase(java.util.Locale.ROOT))
          .orElse("not ready on any worker");
      // Why a model failed names files of this server: the admin API and health's details
      // (a platform admin's) tell it, a caller learns only that it cannot be used.
      throw new OpenAiException(503, "service_unavailable", "Model '" + model + "' is " + state
          + (status.flatMap(ModelHost.Status::error).isPresent()
              ? " (an administrator sees why in /admin/v1/models)" : "") + ".", null,
          "model_unavailable");
    }
    return Optional.empty();
  }

  /**
   * Every model a client can call by name, each once: configured, aliases, ready in this
   * process, then ready on some worker (listed with every worker that has it, in whatever state).
   */
  public List<Listed> models() {
    Catalog current = catalog.current();
    Map<String, Listed> listed = new LinkedHashMap<>();
    for (String model : current.models()) {
      listed.put(model, new Listed(model, Source.CONFIG, Optional.empty(), List.of()));
    }
    for (LiveAliases.Entry alias : aliases.all(current)) {
      // An alias wins over a model of the same name here as it does when called.
      listed.put(alias.alias().name(), new Listed(alias.alias().name(), Source.ALIAS,
          Optional.empty(), List.of(), Optional.of(alias)));
    }
    for (ModelHost.Status status : local.statuses()) {
      if (status.state() != ModelHost.State.READY) {
        continue; // the admin API lists models that are loading or failed
      }
      listed.putIfAbsent(status.name(),
          new Listed(status.name(), Source.LOCAL, Optional.of(status), List.of()));
    }
    registry.ifPresent(r -> {
      List<Instance> instances = r.instances();
      Set<String> names = new LinkedHashSet<>();
      instances.forEach(i -> i.models().stream().filter(Instance.ServedModel::ready)
          .forEach(m -> names.add(m.id())));
      for (String name : names) {
        List<Instance> with = new ArrayList<>();
        instances.stream().filter(i -> i.lists(name)).forEach(with::add);
        listed.putIfAbsent(name, new Listed(name, Source.WORKERS, Optional.empty(), with));
      }
    });
    return List.copyOf(listed.values());
  }

  /** One model of {@link #models()}. */
  public Optional<Listed> model(String id) {
    return models().stream().filter(m -> m.id().equals(id)).findFirst();
  }

  public Clock clock() {
    return clock;
  }
}
