package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class SimServerChaosTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** The next {@code count} SSE data lines of a stream. */
  private static List<String> next(Iterator<String> lines, int count) {
    List<String> data = new java.util.ArrayList<>();
    while (data.size() < count) {
      String line = lines.next();
      if (line.startsWith("data: ")) {
        data.add(line);
      }
    }
    return data;
  }

  private static boolean refused(Runnable call) {
    try {
      call.run();
      return false;
    } catch (UncheckedIOException e) {
      return true;
    }
  }

  @Test
  void hangStallsStreamsAfterTheirTokensWithTheConnectionOpenUntilItEnds() throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults().withHangTokens(2))) {
      SimHttp http = new SimHttp(sim);
      HttpResponse<String> switched = http.post("/sim/chaos", "{\"mode\":\"hang\"}");
      assertThat(switched.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(switched.body()).path("previous").asString()).isEqualTo("normal");
      assertThat(JSON.readTree(http.get("/sim/chaos").body()).path("mode").asString()).isEqualTo("hang");

      HttpResponse<Stream<String>> r =
          http.postStreaming("/v1/chat/completions", SimHttp.chat("hello", true)).get();
      assertThat(r.statusCode()).isEqualTo(200);
      Iterator<String> lines = r.body().iterator();
      assertThat(next(lines, 2)).hasSize(2);

      // Two tokens sent, the stream open and going nowhere.
      await().until(() -> http.metric("vllm:generation_tokens_total") == 2);
      assertThat(sim.stats().inflight()).isEqualTo(1);
      assertThat(http.metric("vllm:num_requests_running")).isEqualTo(1);
      assertThat(http.metric("vllm:generation_tokens_total")).isEqualTo(2);
      assertThat(http.get("/health").statusCode()).isEqualTo(200);

      assertThat(http.post("/sim/chaos", "{\"mode\":\"normal\"}").statusCode()).isEqualTo(200);
      List<String> rest = next(lines, 16);
      assertThat(rest).last().isEqualTo("data: [DONE]");
      assertThat(http.metric("vllm:generation_tokens_total")).isEqualTo(16);
      // Counted once the last token is handed over, which can be just after the client read it.
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
          assertThat(sim.stats().completed()).isEqualTo(1));
    }
  }

  @Test
  void hangStallsAnUnstreamedAnswerAndAnEmbedding() throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      sim.switchChaosMode(ChaosMode.HANG);
      var whole = http.postStreaming("/v1/chat/completions", SimHttp.chat("hello", false));
      var embedding = http.postStreaming("/v1/embeddings", "{\"model\":\"e\",\"input\":\"a\"}");
      await().until(() -> sim.stats().inflight() == 2);
      assertThat(whole).isNotDone();
      assertThat(embedding).isNotDone();

      sim.switchChaosMode(ChaosMode.NORMAL);
      assertThat(whole.get().statusCode()).isEqualTo(200);
      assertThat(embedding.get().statusCode()).isEqualTo(200);
    }
  }

  @Test
  void failAnswersEveryRequestWith500InOpenAiShapeUntilNormal() {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      assertThat(http.post("/sim/chaos", "{\"mode\":\"FAIL\"}").statusCode()).isEqualTo(200);

      for (String[] call : new String[][] {
          {"/v1/chat/completions", SimHttp.chat("hi", true)},
          {"/v1/completions", "{\"model\":\"m\",\"prompt\":\"once\"}"},
          {"/v1/embeddings", "{\"model\":\"e\",\"input\":\"a\"}"}}) {
        HttpResponse<String> r = http.post(call[0], call[1]);
        assertThat(r.statusCode()).as(call[0]).isEqualTo(500);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("type").asString()).isEqualTo("server_error");
        assertThat(error.path("code").asString()).isEqualTo("sim_chaos");
        assertThat(error.path("message").asString()).isNotBlank();
        assertThat(error.has("param")).isTrue();
      }
      assertThat(http.get("/health").statusCode()).isEqualTo(503);
      assertThat(sim.stats().injectedErrors()).isEqualTo(3);

      sim.switchChaosMode(ChaosMode.NORMAL);
      assertThat(http.post("/v1/chat/completions", SimHttp.chat("hi", false)).statusCode()).isEqualTo(200);
      assertThat(http.get("/health").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void rejectsAnUnknownModeWith400() {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      for (String body : List.of("{\"mode\":\"sleep\"}", "{}", "not json")) {
        HttpResponse<String> r = http.post("/sim/chaos", body);
        assertThat(r.statusCode()).as(body).isEqualTo(400);
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("type").asString()).isEqualTo("invalid_request_error");
        assertThat(error.path("message").asString()).contains("expected:");
      }
      assertThat(sim.chaosMode()).isEqualTo(ChaosMode.NORMAL);
    }
  }

  @Test
  void dieAfterRequestsHaltsWhenTheNextRequestArrives() {
    AtomicInteger halts = new AtomicInteger();
    SimOptions options = SimOptions.defaults().withChaos(ChaosTrigger.afterRequests(ChaosMode.DIE, 2));
    try (SimServer sim = SimServer.start(options, halts::incrementAndGet)) {
      SimHttp http = new SimHttp(sim);
      assertThat(http.post("/v1/chat/completions", SimHttp.chat("one", false)).statusCode()).isEqualTo(200);
      assertThat(http.post("/v1/chat/completions", SimHttp.chat("two", false)).statusCode()).isEqualTo(200);
      assertThat(halts).hasValue(0);

      // The halt was a fake and returned: the server drops the connection instead of answering.
      assertThatThrownBy(() -> http.post("/v1/chat/completions", SimHttp.chat("three", false)))
          .isInstanceOf(UncheckedIOException.class);
      assertThat(halts).hasValue(1);
      assertThat(sim.chaosMode()).isEqualTo(ChaosMode.DIE);
      assertThatThrownBy(() -> http.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"a\"}"))
          .isInstanceOf(UncheckedIOException.class);
      assertThat(sim.switchChaosMode(ChaosMode.NORMAL)).isEqualTo(ChaosMode.DIE);
      assertThat(halts).hasValue(1);
    }
  }

  @Test
  void dieInTheTestsJvmCutsStreamsInFlightAndStopsListening() throws Exception {
    try (SimServer sim = SimServer.start(SimOptions.defaults().withTiming(Duration.ZERO, 20).withOutputTokens(400))) {
      SimHttp http = new SimHttp(sim);
      HttpResponse<Stream<String>> r =
          http.postStreaming("/v1/chat/completions", SimHttp.chat("hello", true)).get();
      Iterator<String> lines = r.body().iterator();
      next(lines, 1);

      HttpResponse<String> died = http.post("/sim/chaos", "{\"mode\":\"die\"}");
      assertThat(died.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(died.body()).path("mode").asString()).isEqualTo("die");

      // The stream ends, or breaks, without its [DONE].
      List<String> rest = List.of();
      try {
        rest = Stream.iterate(lines, Iterator::hasNext, it -> it).map(Iterator::next)
            .collect(Collectors.toList());
      } catch (UncheckedIOException expected) {
        // the connection was reset
      }
      assertThat(rest).doesNotContain("data: [DONE]");
      await().until(() -> refused(() -> http.get("/health")));
    }
  }

  @Test
  void tracksConnectionsNotRequestsForDying() {
    // Regression: tracking each request of a keep-alive connection until the connection closed
    // grew the heap by every request and brought multi-second GC pauses under load.
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      for (int i = 0; i < 50; i++) {
        http.post("/v1/chat/completions", SimHttp.chat("hi", false));
      }
      assertThat(sim.openConnections()).isEqualTo(1);
    }
  }

  @Test
  void timedTriggersSwitchOnTheirOwn() {
    SimOptions options = SimOptions.defaults()
        .withChaos(ChaosTrigger.afterTime(ChaosMode.FAIL, Duration.ZERO));
    try (SimServer sim = SimServer.start(options)) {
      await().until(() -> sim.chaosMode() == ChaosMode.FAIL);
      assertThat(new SimHttp(sim).post("/v1/chat/completions", SimHttp.chat("hi", false)).statusCode())
          .isEqualTo(500);
    }
  }

  @Test
  void hangAfterRequestsServesTheFirstOnesInFull() throws Exception {
    SimOptions options = SimOptions.defaults().withHangTokens(0)
        .withChaos(ChaosTrigger.afterRequests(ChaosMode.HANG, 1));
    try (SimServer sim = SimServer.start(options)) {
      SimHttp http = new SimHttp(sim);
      assertThat(http.post("/v1/completions", "{\"model\":\"m\",\"prompt\":\"once\"}").statusCode()).isEqualTo(200);
      var hung = http.postStreaming("/v1/completions", "{\"model\":\"m\",\"prompt\":\"twice\"}");
      await().until(() -> sim.stats().inflight() == 1);
      assertThat(sim.chaosMode()).isEqualTo(ChaosMode.HANG);
      assertThat(hung).isNotDone();
      sim.switchChaosMode(ChaosMode.NORMAL);
      assertThat(hung.get().statusCode()).isEqualTo(200);
    }
  }
}
