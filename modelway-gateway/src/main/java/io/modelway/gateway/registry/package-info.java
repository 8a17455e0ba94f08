/**
 * Service discovery: workers register under a lease and heartbeat with their models and load
 * ({@link io.modelway.gateway.registry.RegistrationAgent}, the worker's side); the gateway keeps
 * them in a {@link io.modelway.gateway.registry.Registry} and forgets an instance whose lease ran
 * out. In-memory here; etcd leases are the distributed implementation (DESIGN.md §4).
 */
@NullMarked
package io.modelway.gateway.registry;

import org.jspecify.annotations.NullMarked;
