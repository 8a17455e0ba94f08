/**
 * The Admit stage: plans (the limits a tenant or a key is held to), the counters that enforce
 * them — requests and tokens per minute, calls at once, per scope and per model — and the
 * {@code x-ratelimit-*} answer headers. Counters live in this process (Bucket4j over Caffeine)
 * or in Redis, shared by every gateway replica.
 */
@NullMarked
package io.modelway.gateway.quota;

import org.jspecify.annotations.NullMarked;
