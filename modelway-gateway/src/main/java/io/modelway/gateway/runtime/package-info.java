/**
 * The models this process runs, as the server shows them: their health (the process is ready
 * only once no model is loading) and the admin API that loads and unloads them.
 */
@NullMarked
package io.modelway.gateway.runtime;

import org.jspecify.annotations.NullMarked;
