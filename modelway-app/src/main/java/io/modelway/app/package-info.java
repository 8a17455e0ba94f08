/** The {@code modelway} command line: one binary whose subcommands start the roles. */
@NullMarked
package io.modelway.app;

import org.jspecify.annotations.NullMarked;
