/**
 * What a call does when an instance fails or is slow: {@link
 * io.modelway.gateway.resilience.Resilient} retries a call that failed before a byte of it went to
 * the client on another instance of its pool (with backoff and jitter, within the model's retry
 * budget and deadlines), and continues a streamed chat completion whose instance died or stalled
 * on another instance ({@link io.modelway.gateway.resilience.StreamSplice}); fallback chains to
 * other models are the Invoke stage's ({@code api.OpenAiHandler}).
 */
@NullMarked
package io.modelway.gateway.resilience;

import org.jspecify.annotations.NullMarked;
