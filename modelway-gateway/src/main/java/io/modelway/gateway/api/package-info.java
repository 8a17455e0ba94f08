/** The OpenAI-compatible HTTP API: routes, the request pipeline and the one place errors map to HTTP. */
@NullMarked
package io.modelway.gateway.api;

import org.jspecify.annotations.NullMarked;
