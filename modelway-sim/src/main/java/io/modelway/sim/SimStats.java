package io.modelway.sim;

/**
 * Counters of a simulated server since it started.
 *
 * @param requests calls received on the generation and embedding endpoints
 * @param inflight calls whose answer has not finished
 * @param completed answers sent to the end
 * @param cancelled answers cut short because the client went away
 * @param injectedErrors calls answered with a simulated error
 */
public record SimStats(long requests, long inflight, long completed, long cancelled, long injectedErrors) {}
