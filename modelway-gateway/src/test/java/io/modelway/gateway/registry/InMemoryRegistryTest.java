package io.modelway.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.registry.Instance.ServedModel;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InMemoryRegistryTest {
  /** A clock the test moves. */
  static final class MovableClock extends Clock {
    Instant now = Instant.parse("2026-11-22T10:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private final MovableClock clock = new MovableClock();
  private final InMemoryRegistry registry = new InMemoryRegistry(Duration.ofSeconds(10), clock);

  private static Registry.Registration worker(String id, String... ready) {
    List<ServedModel> models = new ArrayList<>();
    for (String model : ready) {
      models.add(new ServedModel(model, "ready"));
    }
    return new Registry.Registration(id, URI.create("http://10.0.0.1:8090"), models,
        new Instance.Load(1, 4, 3, 0, 12.5));
  }

  @Test
  void listsARegisteredWorkerUntilItsLeaseRunsOut() {
    Instance registered = registry.renew(worker("w1", "tiny"));
    assertThat(registered.expiresAt()).isEqualTo(clock.now.plusSeconds(10));
    assertThat(registry.serving("tiny")).extracting(Instance::id).containsExactly("w1");

    clock.advance(Duration.ofSeconds(9));
    assertThat(registry.instances()).hasSize(1);
    clock.advance(Duration.ofSeconds(1));
    assertThat(registry.instances()).isEmpty();
    assertThat(registry.serving("tiny")).isEmpty();
  }

  @Test
  void aHeartbeatRenewsTheLeaseAndKeepsTheRegistrationTime() {
    Instance first = registry.renew(worker("w1", "tiny"));
    clock.advance(Duration.ofSeconds(8));
    Instance renewed = registry.renew(worker("w1", "tiny"));

    assertThat(renewed.registeredAt()).isEqualTo(first.registeredAt());
    assertThat(renewed.expiresAt()).isEqualTo(clock.now.plusSeconds(10));
    clock.advance(Duration.ofSeconds(8));
    assertThat(registry.instances()).hasSize(1);
  }

  @Test
  void expireForgetsLapsedInstancesAndTellsTheListeners() {
    List<String> removed = new ArrayList<>();
    registry.onRemoved(i -> removed.add(i.id()));
    registry.renew(worker("w1", "tiny"));
    clock.advance(Duration.ofSeconds(5));
    registry.renew(worker("w2", "tiny"));
    clock.advance(Duration.ofSeconds(6));

    assertThat(registry.expire()).extracting(Instance::id).containsExactly("w1");
    assertThat(removed).containsExactly("w1");
    assertThat(registry.instances()).extracting(Instance::id).containsExactly("w2");
  }

  @Test
  void servesOnlyModelsThatAreReady() {
    registry.renew(new Registry.Registration("w1", URI.create("http://10.0.0.1:8090"),
        List.of(new ServedModel("tiny", "loading"), new ServedModel("e5", "ready")),
        Instance.Load.NONE));

    assertThat(registry.serving("tiny")).isEmpty();
    assertThat(registry.serving("e5")).hasSize(1);
    assertThat(registry.instances().get(0).health(clock.now)).isEqualTo(Instance.Health.LOADING);
  }

  @Test
  void skipsAnUnreachableInstanceForAWhileThenTriesItAgain() {
    registry.renew(worker("w1", "tiny"));
    registry.markUnreachable("w1");

    assertThat(registry.serving("tiny")).isEmpty();
    assertThat(registry.instances().get(0).health(clock.now)).isEqualTo(Instance.Health.UNREACHABLE);
    registry.renew(worker("w1", "tiny")); // a heartbeat alone does not clear it
    assertThat(registry.serving("tiny")).isEmpty();
    clock.advance(InMemoryRegistry.MAX_EJECTION);
    assertThat(registry.serving("tiny")).hasSize(1);
  }

  @Test
  void removeForgetsAtOnce() {
    registry.renew(worker("w1", "tiny"));
    assertThat(registry.remove("w1")).isTrue();
    assertThat(registry.remove("w1")).isFalse();
    assertThat(registry.instances()).isEmpty();
  }
}
