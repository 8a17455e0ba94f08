/**
 * Drivers of the benchmarks in {@code bench/}. {@link io.modelway.bench.TinyModelTokens} compares
 * the tokens per second of a tiny GGUF model called through llama.cpp's Java binding in one JVM
 * with the same model served by {@code modelway up} over the OpenAI API.
 */
@NullMarked
package io.modelway.bench;

import org.jspecify.annotations.NullMarked;
