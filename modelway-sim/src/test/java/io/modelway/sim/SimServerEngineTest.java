package io.modelway.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The simulated engine seen through HTTP: its queue, its cache and its metrics. */
class SimServerEngineTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Test
  void metricsAreInPrometheusTextFormatUnderVllmNames() {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      String prompt = "x".repeat(200);
      http.post("/v1/chat/completions", SimHttp.chat(prompt, false));
      http.post("/v1/chat/completions", SimHttp.chat(prompt, true));

      HttpResponse<String> r = http.get("/metrics");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
      List<String> lines = r.body().lines().collect(Collectors.toList());
      assertThat(r.body()).endsWith("\n");
      String family = null;
      for (String line : lines) {
        if (line.startsWith("# HELP ")) {
          family = line.split(" ")[2];
          continue;
        }
        if (line.startsWith("# TYPE ")) {
          assertThat(line).matches("# TYPE " + family + " (gauge|counter)");
          continue;
        }
        // name{label="value",...} number, the name being the family's declared just above
        assertThat(line).matches("[a-zA-Z_:][a-zA-Z0-9_:]*\\{([a-zA-Z_]+=\"[^\"]*\",?)+\\} [0-9.E-]+");
        assertThat(line).startsWith(family + "{");
      }
      assertThat(lines).contains(
          "# TYPE vllm:num_requests_running gauge",
          "# TYPE vllm:num_requests_waiting gauge",
          "# TYPE vllm:gpu_cache_usage_perc gauge",
          "# TYPE vllm:prompt_tokens_total counter",
          "# TYPE vllm:generation_tokens_total counter",
          "# TYPE vllm:prefix_cache_queries_total counter",
          "# TYPE vllm:prefix_cache_hits_total counter",
          "# TYPE vllm:num_preemptions_total counter",
          "vllm:num_requests_running{model_name=\"sim\"} 0",
          "vllm:num_requests_waiting{model_name=\"sim\"} 0",
          "vllm:gpu_cache_usage_perc{model_name=\"sim\"} 0.0",
          "vllm:cache_config_info{block_size=\"16\",num_gpu_blocks=\"4096\"} 1");

      // 3 + 3 + 50 prompt tokens twice; the second time its three full blocks were cached.
      assertThat(http.metric("vllm:prompt_tokens_total")).isEqualTo(112);
      assertThat(http.metric("vllm:prefix_cache_queries_total")).isEqualTo(112);
      assertThat(http.metric("vllm:prefix_cache_hits_total")).isEqualTo(48);
      assertThat(http.metric("vllm:generation_tokens_total")).isEqualTo(32);
    }
  }

  @Test
  void requestsBeyondMaxRunningWaitInTheQueue() throws Exception {
    // Every stream stalls after its first token, so they stay running while the test looks.
    try (SimServer sim = SimServer.start(SimOptions.defaults().withMaxRunning(2))) {
      SimHttp http = new SimHttp(sim);
      sim.switchChaosMode(ChaosMode.HANG);
      List<CompletableFuture<HttpResponse<Stream<String>>>> streams = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        streams.add(http.postStreaming("/v1/chat/completions", SimHttp.chat("hello " + i, true)));
      }

      await().until(() -> sim.stats().running() == 2 && sim.stats().waiting() == 3);
      assertThat(http.metric("vllm:num_requests_running")).isEqualTo(2);
      assertThat(http.metric("vllm:num_requests_waiting")).isEqualTo(3);
      assertThat(http.metric("vllm:gpu_cache_usage_perc")).isEqualTo(4.0 / 4096);

      sim.switchChaosMode(ChaosMode.NORMAL);
      for (CompletableFuture<HttpResponse<Stream<String>>> stream : streams) {
        List<String> lines = stream.get().body().collect(Collectors.toList());
        assertThat(lines).contains("data: [DONE]");
      }
      // The engine lets a sequence go, and counts it, once its last token is handed over, which
      // can be just after the client read it.
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        assertThat(http.metric("vllm:num_requests_running")).isZero();
        assertThat(http.metric("vllm:num_requests_waiting")).isZero();
        assertThat(http.metric("vllm:gpu_cache_usage_perc")).isZero();
        assertThat(sim.stats().completed()).isEqualTo(5);
      });
    }
  }

  @Test
  void rejectsARequestLongerThanTheKvCacheLikeVllm() {
    // Two blocks of 16 tokens: room for 16 prompt tokens and the 16-token answer.
    try (SimServer sim = SimServer.start(SimOptions.defaults().withKvCacheBlocks(2))) {
      SimHttp http = new SimHttp(sim);
      assertThat(http.post("/v1/chat/completions", SimHttp.chat("x".repeat(40), false)).statusCode())
          .isEqualTo(200);

      HttpResponse<String> r = http.post("/v1/chat/completions", SimHttp.chat("x".repeat(41), false));

      assertThat(r.statusCode()).isEqualTo(400);
      JsonNode error = JSON.readTree(r.body()).path("error");
      assertThat(error.path("code").asString()).isEqualTo("context_length_exceeded");
      assertThat(error.path("param").asString()).isEqualTo("messages");
      assertThat(error.path("message").asString())
          .contains("maximum context length is 32 tokens", "you requested 33 tokens (17 in the messages, 16 in the completion)");
    }
  }

  @Test
  void usageCountsTheTokensTheEngineCounts() {
    try (SimServer sim = SimServer.start(SimOptions.defaults())) {
      SimHttp http = new SimHttp(sim);
      JsonNode r = JSON.readTree(http.post("/v1/completions",
          "{\"model\":\"m\",\"prompt\":\"" + "y".repeat(30) + "\",\"max_tokens\":5}").body());
      assertThat(r.path("usage").path("prompt_tokens").asInt()).isEqualTo(8);
      assertThat(http.metric("vllm:prompt_tokens_total")).isEqualTo(8);
      assertThat(http.metric("vllm:generation_tokens_total")).isEqualTo(5);
    }
  }
}
