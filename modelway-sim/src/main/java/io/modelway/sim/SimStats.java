package io.modelway.sim;

/**
 * Counters of a simulated server since it started.
 *
 * @param requests calls received on the generation and embedding endpoints
 * @param inflight calls whose answer has not finished
 * @param completed answers sent to the end
 * @param cancelled answers cut short because the client went away
 * @param injectedErrors calls answered with a simulated error (error rate or chaos mode fail)
 * @param running completions the simulated engine runs now ({@code vllm:num_requests_running})
 * @param waiting completions queued for it ({@code vllm:num_requests_waiting})
 */
public record SimStats(long requests, long inflight, long completed, long cancelled,
    long injectedErrors, long running, long waiting) {}
