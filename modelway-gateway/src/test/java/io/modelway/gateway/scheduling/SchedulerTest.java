package io.modelway.gateway.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The scheduler's policy over a model with a counted number of slots, time in the test's hands. */
class SchedulerTest {
  private static final ModelwayConfig.Scheduling SMALL =
      ModelwayConfig.Scheduling.of(4, Duration.ofSeconds(10));

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Scheduler scheduler = new Scheduler(nanos::get, meters);

  /** A model's instances as a number of free slots; a slot is the caller's name. */
  private final class Slots {
    int free;
    final List<String> granted = new ArrayList<>();
    final List<CompletableFuture<String>> calls = new ArrayList<>();

    Slots(int free) {
      this.free = free;
    }

    CompletableFuture<String> call(String tenant, Priority priority, int weight,
        ModelwayConfig.Scheduling settings, String name) {
      CompletableFuture<String> future = scheduler.schedule("m", settings,
          new Scheduler.Caller(tenant, priority, weight), () -> take(name), this::giveBack);
      future.thenAccept(granted::add);
      calls.add(future);
      return future;
    }

    CompletableFuture<String> call(String tenant, Priority priority, String name) {
      return call(tenant, priority, 1, SMALL, name);
    }

    synchronized @Nullable String take(String name) {
      if (free == 0) {
        return null;
      }
      free--;
      return name;
    }

    synchronized void giveBack(String slot) {
      free++;
    }

    /** One call ends: its slot is free, and the scheduler hears of it. */
    void end() {
      giveBack("ended");
      scheduler.slotFreed();
    }
  }

  private static OpenAiException refusal(CompletableFuture<?> future) {
    assertThat(future).isCompletedExceptionally();
    try {
      future.join();
      throw new AssertionError("not refused");
    } catch (CompletionException e) {
      return (OpenAiException) e.getCause();
    }
  }

  @Test
  void aCallTakesAFreeSlotAtOnceWhenNobodyWaits() {
    Slots slots = new Slots(1);
    assertThat(slots.call("a", Priority.STANDARD, "first")).isCompletedWithValue("first");
    assertThat(slots.call("a", Priority.STANDARD, "second")).isNotDone();
    assertThat(scheduler.queued("m", Priority.STANDARD)).isEqualTo(1);
    slots.end();
    assertThat(slots.calls.get(1)).isCompletedWithValue("second");
    assertThat(scheduler.queued("m", Priority.STANDARD)).isZero();
  }

  @Test
  void rejectsWhenQueueIsFull() {
    Slots slots = new Slots(0);
    for (int i = 0; i < SMALL.maxQueue(); i++) {
      assertThat(slots.call("t" + i, Priority.STANDARD, "w" + i)).isNotDone();
    }
    CompletableFuture<String> late = slots.call("late", Priority.STANDARD, "late");
    OpenAiException e = refusal(late);
    assertThat(e.status()).isEqualTo(503);
    assertThat(e.code()).isEqualTo("queue_full");
    assertThat(e.retryAfter()).contains("10");
    CompletableFuture<String> shed = slots.call("other", Priority.SHEDDABLE, "shed");
    assertThat(refusal(shed).status()).isEqualTo(429);
    assertThat(refusal(shed).code()).isEqualTo("request_shed");
    assertThat(meters.get("modelway.scheduler.rejected").tag("reason", "queue_full").counter()
        .count()).isEqualTo(1);
    assertThat(scheduler.queued("m", Priority.STANDARD)).isEqualTo(SMALL.maxQueue());
  }

  @Test
  void aFullQueueMakesRoomForAHigherClassByPushingOutTheNewestLowerCall() {
    Slots slots = new Slots(0);
    slots.call("a", Priority.SHEDDABLE, "s1");
    slots.call("a", Priority.SHEDDABLE, "s2");
    slots.call("b", Priority.STANDARD, "x1");
    slots.call("b", Priority.STANDARD, "x2");
    CompletableFuture<String> critical = slots.call("c", Priority.CRITICAL, "c1");
    assertThat(critical).isNotDone();
    assertThat(refusal(slots.calls.get(1)).status()).as("the newest sheddable call").isEqualTo(429);
    assertThat(slots.calls.get(0)).isNotDone();
    assertThat(scheduler.queued("m", Priority.SHEDDABLE)).isEqualTo(1);
    assertThat(scheduler.queued("m", Priority.CRITICAL)).isEqualTo(1);
  }

  @Test
  void rejectsAfterMaxWait() {
    Slots slots = new Slots(0);
    CompletableFuture<String> standard = slots.call("a", Priority.STANDARD, "a");
    nanos.addAndGet(Duration.ofSeconds(5).toNanos());
    CompletableFuture<String> sheddable = slots.call("b", Priority.SHEDDABLE, "b");
    scheduler.tick();
    assertThat(standard).isNotDone();

    nanos.addAndGet(Duration.ofSeconds(5).toNanos());
    scheduler.tick();
    OpenAiException e = refusal(standard);
    assertThat(e.status()).isEqualTo(503);
    assertThat(e.code()).isEqualTo("queue_timeout");
    assertThat(e.retryAfter()).isPresent();
    assertThat(sheddable).isNotDone();

    nanos.addAndGet(Duration.ofSeconds(5).toNanos());
    scheduler.tick();
    assertThat(refusal(sheddable).status()).isEqualTo(429);
    assertThat(scheduler.queued("m", Priority.STANDARD)).isZero();
    assertThat(scheduler.queued("m", Priority.SHEDDABLE)).isZero();
  }

  @Test
  void servesCriticalBeforeStandardBeforeSheddableWhenASlotFrees() {
    Slots slots = new Slots(0);
    slots.call("a", Priority.SHEDDABLE, "sheddable");
    slots.call("a", Priority.STANDARD, "standard");
    slots.call("b", Priority.SHEDDABLE, "sheddable-2");
    slots.call("c", Priority.CRITICAL, "critical");
    for (int i = 0; i < 4; i++) {
      slots.end();
    }
    assertThat(slots.granted).containsExactly("critical", "standard", "sheddable", "sheddable-2");
  }

  @Test
  void sharesSlotsFairlyBetweenTenantsWhenOneFloods() {
    ModelwayConfig.Scheduling roomy = ModelwayConfig.Scheduling.of(1000, Duration.ofMinutes(1));
    Slots slots = new Slots(0);
    for (int i = 0; i < 300; i++) {
      slots.call("flood", Priority.STANDARD, 1, roomy, "flood");
    }
    for (int i = 0; i < 30; i++) {
      slots.call("quiet", Priority.STANDARD, 1, roomy, "quiet");
      slots.call("heavy", Priority.STANDARD, 2, roomy, "heavy");
    }
    for (int i = 0; i < 60; i++) {
      slots.end();
    }
    Map<String, Integer> served = new HashMap<>();
    slots.granted.forEach(name -> served.merge(name, 1, Integer::sum));
    // Weights 1, 1, 2: in 60 slots, 15, 15 and 30, whatever the flood queued ahead of them.
    assertThat(served).containsEntry("flood", 15).containsEntry("quiet", 15)
        .containsEntry("heavy", 30);
  }

  @Test
  void aFloodingTenantIsPushedOutOfAFullQueueByAnother() {
    Slots slots = new Slots(0);
    for (int i = 0; i < SMALL.maxQueue(); i++) {
      slots.call("flood", Priority.STANDARD, "flood" + i);
    }
    CompletableFuture<String> quiet = slots.call("quiet", Priority.STANDARD, "quiet");
    assertThat(quiet).isNotDone();
    OpenAiException pushed = refusal(slots.calls.get(SMALL.maxQueue() - 1));
    assertThat(pushed.status()).isEqualTo(429);
    assertThat(pushed.code()).isEqualTo("over_fair_share");
    CompletableFuture<String> more = slots.call("flood", Priority.STANDARD, "more");
    assertThat(refusal(more).code()).isEqualTo("over_fair_share");
  }

  @Test
  void cancellingAWaitingCallFreesItsPlace() {
    Slots slots = new Slots(0);
    for (int i = 0; i < SMALL.maxQueue(); i++) {
      slots.call("t" + i, Priority.STANDARD, "w" + i);
    }
    slots.calls.get(0).cancel(false);
    assertThat(scheduler.queued("m", Priority.STANDARD)).isEqualTo(SMALL.maxQueue() - 1);
    CompletableFuture<String> next = slots.call("new", Priority.STANDARD, "new");
    assertThat(next).isNotDone();
    slots.end();
    assertThat(slots.granted).containsExactly("w1");
    assertThat(slots.free).isZero();
  }

  @Test
  void aSlotGrantedToACancelledCallIsGivenBack() {
    Slots slots = new Slots(0);
    CompletableFuture<String> call = slots.call("a", Priority.STANDARD, "a");
    call.complete("taken by someone else"); // the caller is done with it before its turn
    slots.end();
    assertThat(slots.free).as("the slot went back").isEqualTo(1);
  }

  @Test
  void aFailingSlotLookupFailsTheCall() {
    CompletableFuture<String> call = scheduler.schedule("m", SMALL,
        new Scheduler.Caller("a", Priority.STANDARD, 1), () -> {
          throw new OpenAiException(503, "service_unavailable", "gone", null, "model_unavailable");
        }, slot -> { });
    assertThat(refusal(call).code()).isEqualTo("model_unavailable");
    assertThatThrownBy(() -> new Scheduler.Caller("a", Priority.STANDARD, 0))
        .hasMessageContaining("(expected: >= 1)");
  }

  @Test
  void refusesBadQueueSettingsSayingWhatWasExpected() {
    assertThatThrownBy(() -> ModelwayConfig.Scheduling.of(-1, Duration.ofSeconds(1)))
        .hasMessage("max-queue: -1 (expected: 0 to 1000000)");
    assertThatThrownBy(() -> ModelwayConfig.Scheduling.of(10, Duration.ZERO))
        .hasMessage("max-wait: 0s (expected: 1ms to 1h)");
  }

  @Test
  void headerCanLowerButNotRaise() {
    Scheduler.Caller standard = new Scheduler.Caller("t", Priority.STANDARD, 2);
    assertThat(Schedule.caller(standard, null)).isEqualTo(standard);
    assertThat(Schedule.caller(standard, "sheddable").priority()).isEqualTo(Priority.SHEDDABLE);
    assertThat(Schedule.caller(standard, "sheddable").weight()).isEqualTo(2);
    assertThat(Schedule.caller(standard, "critical")).as("never above the plan")
        .isEqualTo(standard);
    Scheduler.Caller critical = new Scheduler.Caller("t", Priority.CRITICAL, 1);
    assertThat(Schedule.caller(critical, "Standard").priority()).isEqualTo(Priority.STANDARD);
    assertThatThrownBy(() -> Schedule.caller(standard, "urgent"))
        .isInstanceOfSatisfying(OpenAiException.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.getMessage()).contains("x-modelway-priority").contains("urgent");
        });
  }
}
