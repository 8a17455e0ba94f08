/**
 * The usage ledger: what each request used, written durably before the client receives the end
 * of its answer ({@link io.modelway.gateway.usage.UsageSpool}, a local append-only log) and moved
 * into the store in the background ({@link io.modelway.gateway.usage.UsageLedger}), idempotently,
 * so a crash or a database outage loses nothing and duplicates nothing.
 */
@NullMarked
package io.modelway.gateway.usage;

import org.jspecify.annotations.NullMarked;
