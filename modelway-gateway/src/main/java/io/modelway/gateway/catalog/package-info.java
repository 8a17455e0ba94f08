/**
 * The model catalog: which public model name goes to which backend, read from the YAML config
 * file and the command line, and swapped atomically when the file changes.
 */
@NullMarked
package io.modelway.gateway.catalog;

import org.jspecify.annotations.NullMarked;
