/** The gateway role: assembles the data plane, the catalog and the actuator endpoints. */
@NullMarked
package io.modelway.gateway;

import org.jspecify.annotations.NullMarked;
