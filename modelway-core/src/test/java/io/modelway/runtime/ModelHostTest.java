package io.modelway.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.runtime.ModelHost.ModelSpec;
import io.modelway.runtime.ModelHost.State;
import io.modelway.runtime.ModelHost.Status;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

class ModelHostTest {
  private static final BackendCall CALL =
      new BackendCall(Endpoint.EMBEDDINGS, "{}".getBytes(), false, "req_1");

  /** A runtime whose answer bodies end when the test says so. */
  static final class FakeRuntime implements ModelRuntime {
    final String name;
    final AtomicBoolean closed = new AtomicBoolean();
    final List<Sinks.Many<byte[]>> bodies = new CopyOnWriteArrayList<>();

    FakeRuntime(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Mono<BackendResponse> send(BackendCall call) {
      Sinks.Many<byte[]> body = Sinks.many().unicast().onBackpressureBuffer();
      bodies.add(body);
      return Mono.just(new BackendResponse(200, "application/json", -1, body.asFlux()));
    }

    @Override
    public Load load() {
      return new Load(4, bodies.size(), 0, 17);
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private final List<FakeRuntime> loaded = new ArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();
  /** Runs loads when the test says so, so states in between can be seen. */
  private final List<Runnable> pending = new ArrayList<>();
  private final Executor manual = pending::add;

  private ModelHost host(Executor executor) {
    ModelHost host = new ModelHost(spec -> {
      if (spec.source().contains("broken")) {
        throw new IllegalArgumentException(spec.source() + " is not a GGUF file");
      }
      FakeRuntime runtime = new FakeRuntime(spec.name());
      loaded.add(runtime);
      return runtime;
    }, executor, Clock.systemUTC(), Duration.ofMinutes(5));
    host.addListener(s -> events.add(s.name() + ":" + s.state()));
    return host;
  }

  private void runPending() {
    while (!pending.isEmpty()) {
      pending.remove(0).run();
    }
  }

  @Test
  void servesAModelOnlyOnceItIsLoaded() {
    ModelHost host = host(manual);
    CompletableFuture<Status> done = host.load(new ModelSpec("tiny", "/m/tiny.gguf"));

    assertThat(host.backend("tiny")).isEmpty();
    assertThat(host.settled()).isFalse();
    assertThat(host.status("tiny")).get().extracting(Status::state).isEqualTo(State.LOADING);

    runPending();
    assertThat(done).isCompletedWithValueMatching(s -> s.state() == State.READY);
    assertThat(host.backend("tiny")).isPresent();
    assertThat(host.settled()).isTrue();
    assertThat(host.status("tiny").orElseThrow().load().tokens()).isEqualTo(17);
    assertThat(events).containsExactly("tiny:LOADING", "tiny:READY");
  }

  @Test
  void keepsAFailedModelWithItsReasonAndServesTheOthers() {
    ModelHost host = host(Runnable::run);
    Status broken = host.load(new ModelSpec("bad", "/m/broken.gguf")).join();
    host.load(new ModelSpec("good", "/m/good.gguf")).join();

    assertThat(broken.state()).isEqualTo(State.FAILED);
    assertThat(broken.error()).contains("/m/broken.gguf is not a GGUF file");
    assertThat(host.backend("bad")).isEmpty();
    assertThat(host.backend("good")).isPresent();
    assertThat(host.settled()).isTrue();
  }

  @Test
  void reloadsAFailedModelButRefusesASecondCopyOfALoadedOne() {
    ModelHost host = host(Runnable::run);
    host.load(new ModelSpec("m", "/m/broken.gguf")).join();
    assertThat(host.load(new ModelSpec("m", "/m/fixed.gguf")).join().state()).isEqualTo(State.READY);

    assertThatThrownBy(() -> host.load(new ModelSpec("m", "/m/other.gguf")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already ready");
  }

  @Test
  void unloadingStopsNewCallsAndClosesTheModelWhenTheLastCallEnds() {
    ModelHost host = host(Runnable::run);
    host.load(new ModelSpec("m", "/m/m.gguf")).join();
    FakeRuntime runtime = loaded.get(0);
    BackendResponse answer = host.backend("m").orElseThrow().send(CALL).block();
    List<byte[]> received = new CopyOnWriteArrayList<>();
    answer.body().subscribe(received::add);
    assertThat(host.status("m").orElseThrow().inFlight()).isEqualTo(1);

    CompletableFuture<Void> gone = host.unload("m");

    assertThat(host.backend("m")).isEmpty();
    assertThat(gone).isNotDone();
    assertThat(runtime.closed).isFalse();
    runtime.bodies.get(0).tryEmitNext("{\"ok\":true}".getBytes());
    runtime.bodies.get(0).tryEmitComplete();
    assertThat(received).hasSize(1);
    assertThat(gone).isDone();
    assertThat(runtime.closed).isTrue();
    assertThat(host.status("m")).isEmpty();
    assertThat(events).containsExactly("m:LOADING", "m:READY", "m:UNLOADING");
  }

  @Test
  void aCallThatRacesAnUnloadGetsA503() {
    ModelHost host = host(Runnable::run);
    host.load(new ModelSpec("m", "/m/m.gguf")).join();
    var backend = host.backend("m").orElseThrow();
    host.unload("m").join();

    assertThatThrownBy(() -> backend.send(CALL).block())
        .hasMessageContaining("Model 'm' is unloading");
  }

  @Test
  void refusesToUnloadAnUnknownOrLoadingModel() {
    ModelHost host = host(manual);
    host.load(new ModelSpec("m", "/m/m.gguf"));
    assertThatThrownBy(() -> host.unload("m")).hasMessageContaining("still loading");
    assertThatThrownBy(() -> host.unload("x")).isInstanceOf(NoSuchElementException.class);
  }

  @Test
  void closeFreesEveryModel() {
    ModelHost host = host(Runnable::run);
    host.load(new ModelSpec("a", "/m/a.gguf")).join();
    host.load(new ModelSpec("b", "/m/b.gguf")).join();
    host.close();
    assertThat(loaded).allMatch(r -> r.closed.get());
    assertThat(host.statuses()).isEmpty();
  }
}
