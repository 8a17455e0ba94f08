package io.modelway.gateway.scheduling;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.modelway.gateway.catalog.ModelwayConfig;
import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's queues: per model, the calls waiting for a free slot on one of the model's
 * instances, handed a slot by priority class and fair share between tenants as slots free up.
 *
 * <p><b>Design.</b> Each model has one bounded queue of three classes ({@link Priority}), served
 * in strict priority order, as Kubernetes' API Priority and Fairness separates priority levels.
 * Within a class each tenant is a flow, and flows are served by deficit round-robin (Shreedhar and
 * Varghese, "Efficient Fair Queuing using Deficit Round Robin", SIGCOMM 1995) with a quantum of
 * the tenant's plan weight and a cost of one per call: in each round a tenant of weight w gets up
 * to w calls dispatched, so a tenant that floods the queue gets its share and no more. A call is
 * dispatched when the model's {@link Slots} can give it a slot now (some instance has a free
 * one; the routing policy picks among those); the queue is drained whenever a slot frees ({@link
 * #slotFreed}) and on every {@link #tick}, which also catches capacity that appears without a
 * call ending (a worker reporting more slots, a config reload).
 *
 * <p>Bounds, so that no call hangs: a call waits at most {@code max-wait} (checked on each tick,
 * so up to one {@link #TICK} late) and the queue holds at most {@code max-queue} calls. A call
 * arriving at a full queue pushes out the newest waiting call of a lower class if there is one,
 * else, if the arriving tenant holds less of its class than the tenant holding the most per unit
 * of weight, that tenant's newest call (the fat flow is dropped from, as FQ-CoDel does, RFC 8290).
 * Otherwise the arriving call is refused: 429 when it is sheddable or its tenant is the one over
 * its share (it holds the most of its class, and another tenant waits there too), else 503 (the
 * queue is saturated); both with {@code Retry-After}. There is no aging between classes: a sheddable
 * call that never gets a slot is refused when its {@code max-wait} is up, which bounds its wait
 * as aging would, and keeps critical calls' latency independent of the lower classes' backlog.
 *
 * <p>A call whose caller cancels its future leaves the queue at once. When there is no queue for
 * a model yet or it is empty, a call that finds a free slot takes it at once without being
 * queued.
 *
 * <p>Plain Java, no I/O: one lock per model queue, held only to pick calls and to try slots (which
 * must not block); futures complete outside it. The ticker is injected so tests move time.
 * Thread-safe. Metrics: {@code modelway.scheduler.queued} (gauge per model and class), {@code
 * modelway.scheduler.wait} (timer per model and class, time from arrival to a slot), {@code
 * modelway.scheduler.rejected} (per model, class and reason: {@code queue_full}, {@code
 * max_wait}, {@code shed}, {@code over_share}).
 */
public final class Scheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

  /** How often max-wait is enforced and queues retried. */
  public static final Duration TICK = Duration.ofMillis(50);

  /**
   * Where a model's calls get a slot: a free slot on one of its instances, taken at once, or
   * {@code null} when every instance is full. Must not block; it is called under the model's
   * queue lock. A {@link RuntimeException} it throws fails that call.
   */
  @FunctionalInterface
  public interface Slots<S> {
    @Nullable S tryAcquire();
  }

  /**
   * Who is calling, as the queue sees it.
   *
   * @param tenant the flow its calls are counted in
   * @param priority its class
   * @param weight its share against other tenants of the class, {@code >= 1}
   */
  public record Caller(String tenant, Priority priority, int weight) {
    public Caller {
      requireNonNull(tenant, "tenant");
      requireNonNull(priority, "priority");
      if (weight < 1) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: >= 1)");
      }
    }
  }

  private final LongSupplier ticker;
  private final MeterRegistry meters;
  private final ConcurrentMap<String, ModelQueue> queues = new ConcurrentHashMap<>();
  private final AtomicInteger waiting = new AtomicInteger();
  private @Nullable ScheduledExecutorService timer;

  /** @param ticker nanoseconds of a monotonic clock, {@code System::nanoTime} in production */
  public Scheduler(LongSupplier ticker, MeterRegistry meters) {
    this.ticker = requireNonNull(ticker, "ticker");
    this.meters = requireNonNull(meters, "meters");
  }

  /** Starts the thread that runs {@link #tick} every {@link #TICK}. Idempotent. */
  public synchronized void start() {
    if (timer != null) {
      return;
    }
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "scheduler-tick");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(() -> {
      try {
        tick();
      } catch (RuntimeException e) {
        log.error("Scheduler tick failed", e);
      }
    }, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    if (timer != null) {
      timer.shutdownNow();
      timer = null;
    }
  }

  /**
   * A slot for a call of {@code caller} to {@code model}: at once when one is free and nobody
   * waits, else when the call's turn comes. The future fails with an {@link OpenAiException} (429
   * or 503) when the call is refused; cancelling it takes the call out of the queue. A slot the
   * future could not deliver (it was cancelled meanwhile) is given to {@code release}.
   *
   * @param settings the model's queue bounds now (the latest call's settings apply)
   */
  public <S> CompletableFuture<S> schedule(String model, ModelwayConfig.Scheduling settings,
      Caller caller, Slots<S> slots, Consumer<? super S> release) {
    ModelQueue queue = queues.get(model);
    if (queue == null) {
      queue = queues.computeIfAbsent(model, ModelQueue::new);
    }
    return queue.schedule(settings, caller, slots, release);
  }

  /** A slot freed somewhere: drains every queue that has calls waiting. Cheap when none waits. */
  public void slotFreed() {
    if (waiting.get() == 0) {
      return;
    }
    for (ModelQueue queue : queues.values()) {
      queue.drain();
    }
  }

  /** Refuses the calls past their max-wait, and dispatches what free slots allow. */
  public void tick() {
    if (waiting.get() == 0) {
      return;
    }
    for (ModelQueue queue : queues.values()) {
      queue.expire();
      queue.drain();
    }
  }

  /** Calls waiting for {@code model} in {@code priority}, for tests and the admin view. */
  public int queued(String model, Priority priority) {
    ModelQueue queue = queues.get(model);
    return queue == null ? 0 : queue.classes[priority.ordinal()].size;
  }

  /** One waiting call. Guarded by its queue's lock, but {@link #future}. */
  private static final class Entry {
    final Caller caller;
    final long arrived;
    final Slots<?> slots;
    final Consumer<Object> release;
    final CompletableFuture<Object> future = new CompletableFuture<>();
    @Nullable Flow flow;
    @Nullable Entry prev; // in its flow
    @Nullable Entry next;
    @Nullable Entry older; // in its class, by arrival
    @Nullable Entry newer;

    @SuppressWarnings("unchecked")
    Entry(Caller caller, long arrived, Slots<?> slots, Consumer<?> release) {
      this.caller = caller;
      this.arrived = arrived;
      this.slots = slots;
      this.release = (Consumer<Object>) release;
    }
  }

  /** A tenant's calls in one class, oldest first, with its DRR deficit. */
  private static final class Flow {
    final String tenant;
    int weight;
    int deficit;
    int size;
    @Nullable Entry head;
    @Nullable Entry tail;

    Flow(String tenant, int weight) {
      this.tenant = tenant;
      this.weight = weight;
    }

    void add(Entry e) {
      e.flow = this;
      e.prev = tail;
      e.next = null;
      if (tail == null) {
        head = e;
      } else {
        tail.next = e;
      }
      tail = e;
      size++;
    }

    void unlink(Entry e) {
      if (e.prev == null) {
        head = e.next;
      } else {
        e.prev.next = e.next;
      }
      if (e.next == null) {
        tail = e.prev;
      } else {
        e.next.prev = e.prev;
      }
      e.prev = null;
      e.next = null;
      e.flow = null;
      size--;
    }
  }

  /** One priority class of a model's queue: its flows in DRR order, its calls by arrival. */
  private static final class ClassQueue {
    final Map<String, Flow> flows = new HashMap<>();
    final ArrayDeque<Flow> active = new ArrayDeque<>();
    @Nullable Entry oldest;
    @Nullable Entry newest;
    volatile int size;
  }

  /** A refusal or a slot to hand over once the lock is released. */
  private record Outcome(Entry entry, @Nullable Object slot, @Nullable OpenAiException error) {}

  private final class ModelQueue {
    final String model;
    final ClassQueue[] classes = new ClassQueue[Priority.values().length];
    final Timer[] waits = new Timer[classes.length];
    final ConcurrentMap<String, Counter> rejections = new ConcurrentHashMap<>();
    ModelwayConfig.Scheduling settings = ModelwayConfig.Scheduling.DEFAULT;
    int size;

    ModelQueue(String model) {
      this.model = model;
      for (Priority p : Priority.values()) {
        ClassQueue c = new ClassQueue();
        classes[p.ordinal()] = c;
        Gauge.builder("modelway.scheduler.queued", c, q -> q.size)
            .description("Calls waiting in a model's queue for a free instance slot, by class")
            .tag("model", model).tag("priority", p.label()).register(meters);
        waits[p.ordinal()] = Timer.builder("modelway.scheduler.wait")
            .description("Time calls waited in a model's queue for a slot, by class")
            .tag("model", model).tag("priority", p.label()).register(meters);
      }
    }

    <S> CompletableFuture<S> schedule(ModelwayConfig.Scheduling settings, Caller caller,
        Slots<S> slots, Consumer<? super S> release) {
      long now = ticker.getAsLong();
      Entry entry;
      List<Outcome> outcomes = new ArrayList<>(1);
      synchronized (this) {
        this.settings = settings;
        if (size == 0) {
          S slot;
          try {
            slot = slots.tryAcquire();
          } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
          }
          if (slot != null) {
            waits[caller.priority().ordinal()].record(0, TimeUnit.NANOSECONDS);
            return CompletableFuture.completedFuture(slot);
          }
        }
        entry = new Entry(caller, now, slots, release);
        if (size >= settings.maxQueue()) {
          OpenAiException refusal = makeRoom(entry, outcomes);
          if (refusal != null) {
            finish(outcomes);
            return CompletableFuture.failedFuture(refusal);
          }
        }
        add(entry);
      }
      finish(outcomes);
      entry.future.whenComplete((slot, failure) -> {
        if (entry.future.isCancelled()) {
          cancelled(entry);
        }
      });
      drain();
      @SuppressWarnings("unchecked")
      CompletableFuture<S> future = (CompletableFuture<S>) (CompletableFuture<?>) entry.future;
      return future;
    }

    /**
     * The queue is full and {@code arriving} wants in: pushes out a waiting call to make room, or
     * says why {@code arriving} is refused.
     */
    private @Nullable OpenAiException makeRoom(Entry arriving, List<Outcome> outcomes) {
      Priority p = arriving.caller.priority();
      for (int c = classes.length - 1; c > p.ordinal(); c--) {
        Entry newest = classes[c].newest;
        if (newest != null) {
          Priority victim = Priority.values()[c];
          outcomes.add(new Outcome(newest, null, victim == Priority.SHEDDABLE
              ? refuse(victim, "shed", "it was pushed out of the full queue by a call of a higher"
                  + " class")
              : refuse(victim, "queue_full", "it was pushed out of the full queue by a call of a"
                  + " higher class")));
          remove(newest);
          return null;
        }
      }
      ClassQueue same = classes[p.ordinal()];
      Flow own = same.flows.get(arriving.caller.tenant());
      double ownLoad = ((own == null ? 0 : own.size) + 1.0) / arriving.caller.weight();
      Flow fattest = null;
      for (Flow f : same.active) {
        if (f != own && (fattest == null
            || (double) f.size / f.weight > (double) fattest.size / fattest.weight)) {
          fattest = f;
        }
      }
      if (fattest != null && (double) fattest.size / fattest.weight > ownLoad) {
        Entry newest = requireNonNull(fattest.tail);
        outcomes.add(new Outcome(newest, null, refuse(p, "over_share", "its tenant holds more"
            + " than its share of the full queue")));
        remove(newest);
        return null;
      }
      if (p == Priority.SHEDDABLE) {
        return refuse(p, "shed", "calls of class sheddable are refused first");
      }
      if (own != null && same.active.size() > 1) {
        return refuse(p, "over_share", "your tenant holds its share of the queue or more");
      }
      return refuse(p, "queue_full", "the queue is full");
    }

    /** The refusal of a call of class {@code p}, counted; 429 for shed and over-share, else 503. */
    private OpenAiException refuse(Priority p, String reason, String why) {
      rejections.computeIfAbsent(p.label() + "/" + reason, k -> Counter
          .builder("modelway.scheduler.rejected")
          .description("Calls refused by a model's queue, by class and reason")
          .tag("model", model).tag("priority", p.label()).tag("reason", reason)
          .register(meters)).increment();
      long retryAfter = Math.min(60, Math.max(1, settings.maxWait().toSeconds()));
      boolean tooMany = reason.equals("shed") || reason.equals("over_share");
      String message = "Model '" + model + "' is busy: every instance has as many calls as it"
          + " takes, and this call (class " + p.label() + ") is refused: " + why + ". Retry in "
          + retryAfter + "s.";
      return tooMany
          ? OpenAiException.overloaded(429, "requests", message, reason.equals("shed")
              ? "request_shed" : "over_fair_share", retryAfter)
          : OpenAiException.overloaded(503, "service_unavailable", message,
              reason.equals("max_wait") ? "queue_timeout" : "queue_full", retryAfter);
    }

    private void add(Entry e) {
      ClassQueue c = classes[e.caller.priority().ordinal()];
      Flow flow = c.flows.get(e.caller.tenant());
      if (flow == null) {
        flow = new Flow(e.caller.tenant(), e.caller.weight());
        c.flows.put(flow.tenant, flow);
        c.active.addLast(flow);
      }
      flow.weight = e.caller.weight();
      flow.add(e);
      e.older = c.newest;
      if (c.newest == null) {
        c.oldest = e;
      } else {
        c.newest.newer = e;
      }
      c.newest = e;
      c.size++;
      size++;
      waiting.incrementAndGet();
    }

    /** Takes {@code e} out of the queue; false if it was not in it any more. */
    private boolean remove(Entry e) {
      Flow flow = e.flow;
      if (flow == null) {
        return false;
      }
      ClassQueue c = classes[e.caller.priority().ordinal()];
      flow.unlink(e);
      if (flow.size == 0) {
        c.flows.remove(flow.tenant);
        c.active.remove(flow);
      }
      if (e.older == null) {
        c.oldest = e.newer;
      } else {
        e.older.newer = e.newer;
      }
      if (e.newer == null) {
        c.newest = e.older;
      } else {
        e.newer.older = e.older;
      }
      e.older = null;
      e.newer = null;
      c.size--;
      size--;
      waiting.decrementAndGet();
      return true;
    }

    /** The call DRR serves next: the head of the first active flow of the highest class. */
    private @Nullable Entry peek() {
      for (ClassQueue c : classes) {
        Flow flow = c.active.peekFirst();
        if (flow != null) {
          return flow.head;
        }
      }
      return null;
    }

    /** Takes the call {@link #peek} returned, advancing the round. */
    private void pop(Entry e) {
      ClassQueue c = classes[e.caller.priority().ordinal()];
      Flow flow = requireNonNull(e.flow);
      if (flow.deficit <= 0) {
        flow.deficit = flow.weight; // its turn begins: a quantum of its weight, one per call
      }
      flow.deficit--;
      remove(e);
      if (flow.size > 0 && flow.deficit == 0 && c.active.peekFirst() == flow) {
        c.active.pollFirst();
        c.active.addLast(flow);
      }
    }

    void drain() {
      List<Outcome> outcomes = null;
      synchronized (this) {
        while (size > 0) {
          Entry e = requireNonNull(peek());
          Object slot;
          try {
            slot = e.slots.tryAcquire();
          } catch (RuntimeException failure) {
            remove(e);
            outcomes = add(outcomes, new Outcome(e, null, failure instanceof OpenAiException oe
                ? oe : new OpenAiException(500, "server_error", String.valueOf(failure), null,
                    null)));
            continue;
          }
          if (slot == null) {
            break;
          }
          pop(e);
          waits[e.caller.priority().ordinal()].record(
              Math.max(0, ticker.getAsLong() - e.arrived), TimeUnit.NANOSECONDS);
          outcomes = add(outcomes, new Outcome(e, slot, null));
        }
      }
      if (outcomes != null) {
        finish(outcomes);
      }
    }

    void expire() {
      List<Outcome> outcomes = null;
      synchronized (this) {
        long now = ticker.getAsLong();
        long maxWait = settings.maxWait().toNanos();
        for (int c = 0; c < classes.length; c++) {
          Entry e;
          while ((e = classes[c].oldest) != null && now - e.arrived >= maxWait) {
            Priority p = Priority.values()[c];
            remove(e);
            String why = "it waited the longest a call may wait (max-wait "
                + settings.maxWait().toString().substring(2).toLowerCase(java.util.Locale.ROOT)
                + ")";
            outcomes = add(outcomes, new Outcome(e, null, p == Priority.SHEDDABLE
                ? refuse(p, "shed", why) : refuse(p, "max_wait", why)));
          }
        }
      }
      if (outcomes != null) {
        finish(outcomes);
      }
    }

    private void cancelled(Entry e) {
      synchronized (this) {
        remove(e);
      }
    }

    private List<Outcome> add(@Nullable List<Outcome> list, Outcome outcome) {
      List<Outcome> to = list == null ? new ArrayList<>(2) : list;
      to.add(outcome);
      return to;
    }

    /** Completes futures, outside the lock: their callers go on on this thread. */
    private void finish(List<Outcome> outcomes) {
      for (Outcome o : outcomes) {
        if (o.error() != null) {
          o.entry().future.completeExceptionally(o.error());
        } else if (!o.entry().future.complete(o.slot())) {
          o.entry().release.accept(requireNonNull(o.slot()));
        }
      }
    }
  }
}
