/**
 * The Schedule stage: calls of a model whose instances take a bounded number of calls at once
 * wait in the gateway's queue, by priority class and fair share between tenants, until an
 * instance has a free slot ({@link io.modelway.gateway.scheduling.Scheduler}); calls of other
 * models pass straight through ({@link io.modelway.gateway.scheduling.Schedule}).
 */
@NullMarked
package io.modelway.gateway.scheduling;

import org.jspecify.annotations.NullMarked;
