/**
 * Where a request goes: {@link io.modelway.gateway.routing.ModelRouter} resolves a model name to a
 * backend — a configured one, a model in this process, or the registered workers serving it,
 * balanced by {@link io.modelway.gateway.routing.InstanceBalancer}.
 */
@NullMarked
package io.modelway.gateway.routing;

import org.jspecify.annotations.NullMarked;
