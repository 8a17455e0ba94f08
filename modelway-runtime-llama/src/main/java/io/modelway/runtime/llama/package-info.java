/**
 * GGUF chat and completion models run in this JVM by llama.cpp, behind
 * {@link io.modelway.backend.Backend}: {@link io.modelway.runtime.llama.LlamaCppBackend}.
 */
@NullMarked
package io.modelway.runtime.llama;

import org.jspecify.annotations.NullMarked;
