/**
 * {@link io.modelway.backend.Backend}: one call to something that answers the OpenAI API, in
 * process or over HTTP.
 */
@NullMarked
package io.modelway.backend;

import org.jspecify.annotations.NullMarked;
