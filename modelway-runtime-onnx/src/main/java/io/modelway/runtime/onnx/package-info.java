/**
 * Embedding models run in this JVM by ONNX Runtime, behind {@link io.modelway.backend.Backend}:
 * {@link io.modelway.runtime.onnx.OnnxEmbeddingBackend}, with dynamic batching of concurrent
 * requests into one model call.
 */
@NullMarked
package io.modelway.runtime.onnx;

import org.jspecify.annotations.NullMarked;
