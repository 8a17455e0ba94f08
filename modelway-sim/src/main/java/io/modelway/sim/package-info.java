/**
 * {@code modelway sim}: a simulated OpenAI-compatible LLM server for tests, load tests and chaos
 * tests, with configurable latency, speed, length and failure rate, deterministic by seed.
 */
@NullMarked
package io.modelway.sim;

import org.jspecify.annotations.NullMarked;
