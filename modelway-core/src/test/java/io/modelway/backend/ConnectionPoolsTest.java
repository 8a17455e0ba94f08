package io.modelway.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.modelway.openai.Endpoint;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.LoopResources;

/**
 * {@link ConnectionPools} through {@link OpenAiHttpBackend}, against a real Reactor Netty server,
 * with calls made on real event loops (four, as Reactor Netty's default on a small machine).
 */
class ConnectionPoolsTest {
  private static final BackendCall CALL = call(false);

  private static LoopResources loops;
  private static List<EventLoop> eventLoops;
  private static LoopResources upstreamLoops;
  private static DisposableServer upstream;
  private static final AtomicInteger accepted = new AtomicInteger();
  private static final AtomicInteger open = new AtomicInteger();
  private static final AtomicInteger inFlight = new AtomicInteger();
  private static volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

  private ConnectionPools pools;

  @BeforeAll
  static void start() {
    loops = LoopResources.create("pools-test", 4, true);
    eventLoops = new ArrayList<>();
    for (EventExecutor e : loops.onServer(LoopResources.DEFAULT_NATIVE)) {
      eventLoops.add((EventLoop) e);
    }
    // The upstream on a loop of its own, so that no client loop is busy serving.
    upstreamLoops = LoopResources.create("pools-test-upstream", 1, true);
    upstream = HttpServer.create().host("127.0.0.1").port(0).runOn(upstreamLoops)
        .doOnChannelInit((observer, channel, remote) -> {
          accepted.incrementAndGet();
          open.incrementAndGet();
          channel.closeFuture().addListener(closed -> open.decrementAndGet());
        })
        .handle((request, response) -> request.receive().aggregate().then(Mono.defer(() -> {
          inFlight.incrementAndGet();
          return Mono.fromFuture(gate);
        })).then(answer(request.requestHeaders().get("accept", ""), response))
            .doFinally(signal -> inFlight.decrementAndGet()))
        .bindNow();
  }

  @AfterAll
  static void stop() {
    upstream.disposeNow();
    upstreamLoops.disposeLater().block();
    loops.disposeLater().block();
  }

  @BeforeEach
  void reset() {
    accepted.set(0);
    gate = CompletableFuture.completedFuture(null);
  }

  @AfterEach
  void close() {
    gate.complete(null);
    if (pools != null) {
      pools.close();
    }
  }

  /**
   * Guards against one pool shared by every loop (as before): there, a call made on one loop was
   * often given an idle connection of another, acquired and answered there, then handed back —
   * two cross-thread hand-offs per call (with one pool for all loops, this fails in its second
   * round).
   */
  @ParameterizedTest(name = "stream: {0}")
  @ValueSource(booleans = {false, true})
  void answersOnTheEventLoopThatMadeTheCall(boolean stream) throws Exception {
    pools = ConnectionPools.create(loops, 64);
    OpenAiHttpBackend backend = backend(pools);
    BackendCall call = call(stream);
    List<Thread> loopThreads = new ArrayList<>();
    for (EventLoop loop : eventLoops) {
      loopThreads.add(loop.submit(Thread::currentThread).get());
    }
    for (int round = 0; round < 50; round++) {
      // Each loop at once, so that idle connections of every loop are in the pools each time.
      List<CompletableFuture<Thread>> answers = new ArrayList<>();
      for (EventLoop loop : eventLoops) {
        answers.add(callFrom(loop, backend, call));
      }
      for (int i = 0; i < answers.size(); i++) {
        assertThat(answers.get(i).get(10, TimeUnit.SECONDS))
            .as("round %d, call made on %s", round, loopThreads.get(i).getName())
            .isSameAs(loopThreads.get(i));
      }
    }
    // And each loop's calls, one at a time, went over one connection of its own.
    assertThat(accepted.get()).as("connections opened").isEqualTo(eventLoops.size());
  }

  @Test
  void probesOverTheCallingLoopsPool() throws Exception {
    pools = ConnectionPools.create(loops, 64);
    OpenAiHttpBackend backend = backend(pools);
    for (EventLoop loop : eventLoops) {
      CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
      loop.execute(() -> backend.probe("/health", Duration.ofSeconds(10)).subscribe(
          status -> onLoop.complete(status == 200 && loop.inEventLoop()),
          onLoop::completeExceptionally));
      assertThat(onLoop.get(10, TimeUnit.SECONDS)).as("200, on %s", loop).isTrue();
    }
    assertThat(accepted.get()).isEqualTo(eventLoops.size());
  }

  @Test
  void sendsCallsFromOtherThreadsToEachLoopInTurn() throws Exception {
    pools = ConnectionPools.create(loops, 64);
    OpenAiHttpBackend backend = backend(pools);
    Set<Thread> answeredOn = new HashSet<>();
    for (int i = 0; i < 2 * eventLoops.size(); i++) {
      answeredOn.add(callFrom(Runnable::run, backend).get(10, TimeUnit.SECONDS));
    }
    Set<Thread> loopThreads = new HashSet<>();
    for (EventLoop loop : eventLoops) {
      loopThreads.add(loop.submit(Thread::currentThread).get());
    }
    assertThat(answeredOn).isEqualTo(loopThreads);
  }

  @Test
  void splitsTheLimitPerAddressAmongTheLoops() throws Exception {
    pools = ConnectionPools.create(loops, 2 * eventLoops.size());
    assertThat(pools.maxConnectionsPerLoop()).isEqualTo(2);
    OpenAiHttpBackend backend = backend(pools);
    gate = new CompletableFuture<>();
    List<CompletableFuture<Thread>> answers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      answers.add(callFrom(eventLoops.get(0), backend));
    }
    for (int i = 0; i < 2; i++) {
      answers.add(callFrom(eventLoops.get(1), backend));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> inFlight.get() == 4);
    assertThat(answers).noneMatch(CompletableFuture::isDone);

    gate.complete(null);
    for (CompletableFuture<Thread> answer : answers) {
      answer.get(10, TimeUnit.SECONDS);
    }
    // The third call of loop 0 waited for one of its loop's two connections, though the limit of
    // the address (8) was not reached: one pool for all loops would have opened a fifth for it.
    assertThat(accepted.get()).isEqualTo(4);
  }

  @Test
  void closeClosesEveryPoolsConnectionsAndRefusesLaterCalls() throws Exception {
    pools = ConnectionPools.create(loops, 64);
    OpenAiHttpBackend backend = backend(pools);
    List<CompletableFuture<Thread>> answers = new ArrayList<>();
    for (EventLoop loop : eventLoops) {
      answers.add(callFrom(loop, backend));
    }
    for (CompletableFuture<Thread> answer : answers) {
      answer.get(10, TimeUnit.SECONDS);
    }
    assertThat(open.get()).isEqualTo(eventLoops.size());

    pools.close();
    pools.close();

    await().atMost(Duration.ofSeconds(10)).until(() -> open.get() == 0);
    assertThatThrownBy(() -> pools.clients().current())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> backend.send(CALL).block(Duration.ofSeconds(10)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(accepted.get()).isEqualTo(eventLoops.size());
  }

  @Test
  void rejectsALimitBelowOne() {
    assertThatThrownBy(() -> ConnectionPools.create(loops, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConnections: 0 (expected: > 0)");
  }

  @Test
  void givesEachLoopOneConnectionWhenTheLimitIsBelowTheLoops() {
    pools = ConnectionPools.create(loops, 1);
    assertThat(pools.maxConnectionsPerLoop()).isEqualTo(1);
    assertThat(pools.clients().size()).isEqualTo(eventLoops.size());
  }

  private static OpenAiHttpBackend backend(ConnectionPools pools) {
    return new OpenAiHttpBackend("upstream",
        URI.create("http://127.0.0.1:" + upstream.port() + "/v1"), null, Map.of(),
        Timeouts.DEFAULT, pools.clients());
  }

  private static BackendCall call(boolean stream) {
    return new BackendCall(Endpoint.CHAT_COMPLETIONS, ("{\"model\":\"m\",\"stream\":" + stream
        + "}").getBytes(StandardCharsets.UTF_8), stream, "request-1");
  }

  /** A chat completion, or a stream of two events when the call accepts one. */
  private static Mono<Void> answer(String accept, HttpServerResponse response) {
    if (accept.contains("text/event-stream")) {
      return response.header("content-type", "text/event-stream")
          .sendString(Flux.just("data: {\"object\":\"chat.completion.chunk\"}\n\n",
              "data: [DONE]\n\n")).then();
    }
    return response.header("content-type", "application/json")
        .sendString(Mono.just("{\"object\":\"chat.completion\"}")).then();
  }

  private static CompletableFuture<Thread> callFrom(Executor executor, Backend backend) {
    return callFrom(executor, backend, CALL);
  }

  /** The thread that the whole answer to {@code call}, subscribed on {@code executor}, came on. */
  private static CompletableFuture<Thread> callFrom(Executor executor, Backend backend,
      BackendCall call) {
    CompletableFuture<Thread> answered = new CompletableFuture<>();
    executor.execute(() -> backend.send(call)
        .flatMap(answer -> answer.body().collectList())
        .subscribe(body -> answered.complete(Thread.currentThread()),
            answered::completeExceptionally));
    return answered;
  }
}
