package io.modelway.sim;

import java.nio.charset.StandardCharsets;

/**
 * A simulated engine's metrics in Prometheus' text format (version 0.0.4), under the names vLLM
 * gives them, so that whatever scrapes a vLLM fleet scrapes a sim fleet. Token counters count
 * tokens, as vLLM's do; every sample carries {@code model_name="sim"}.
 */
final class VllmMetrics {
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  private static final String LABELS = "{model_name=\"sim\"}";

  private VllmMetrics() {}

  static byte[] render(Engine.Snapshot s) {
    StringBuilder out = new StringBuilder(2048);
    sample(out, "vllm:num_requests_running", "gauge",
        "Number of requests in model execution batches.", LABELS, s.running());
    sample(out, "vllm:num_requests_waiting", "gauge",
        "Number of requests waiting to be processed.", LABELS, s.waiting());
    sample(out, "vllm:gpu_cache_usage_perc", "gauge",
        "GPU KV-cache usage. 1 means 100 percent usage.", LABELS, s.cacheUsage());
    sample(out, "vllm:kv_cache_usage_perc", "gauge",
        "KV-cache usage. 1 means 100 percent usage.", LABELS, s.cacheUsage());
    sample(out, "vllm:prompt_tokens_total", "counter",
        "Number of prefill tokens processed.", LABELS, s.promptTokens());
    sample(out, "vllm:generation_tokens_total", "counter",
        "Number of generation tokens processed.", LABELS, s.generationTokens());
    // Every prompt token is looked up in the cache.
    sample(out, "vllm:prefix_cache_queries_total", "counter",
        "Prefix cache queries, in terms of number of queried tokens.", LABELS, s.promptTokens());
    sample(out, "vllm:prefix_cache_hits_total", "counter",
        "Prefix cache hits, in terms of number of cached tokens.", LABELS, s.prefixHitTokens());
    sample(out, "vllm:num_preemptions_total", "counter",
        "Cumulative number of preemption from the engine.", LABELS, 0);
    sample(out, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig",
        "{block_size=\"" + KvCache.BLOCK_TOKENS + "\",num_gpu_blocks=\"" + s.capacityBlocks()
            + "\"}", 1);
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void sample(StringBuilder out, String name, String type, String help,
      String labels, Number value) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(' ').append(type).append('\n')
        .append(name).append(labels).append(' ').append(value).append('\n');
  }
}
