/**
 * Models this process runs itself: the {@link io.modelway.runtime.ModelRuntime} contract the
 * runtimes (llama.cpp, ONNX Runtime) implement, and {@link io.modelway.runtime.ModelHost}, which
 * loads, serves and unloads them through an explicit lifecycle.
 */
@NullMarked
package io.modelway.runtime;

import org.jspecify.annotations.NullMarked;
