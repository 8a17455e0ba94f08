/**
 * Where a request goes: {@link io.modelway.gateway.routing.ModelRouter} resolves a model name to a
 * backend — a configured pool, a model in this process, or the registered workers serving it;
 * {@link io.modelway.gateway.routing.InstancePools} spreads a pool's calls with a
 * {@link io.modelway.gateway.routing.Policy} over the instances that
 * {@link io.modelway.gateway.routing.InstanceHealth} admits.
 */
@NullMarked
package io.modelway.gateway.routing;

import org.jspecify.annotations.NullMarked;
