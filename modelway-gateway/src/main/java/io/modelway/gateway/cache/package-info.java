/**
 * The Cache stage: answers repeated requests without calling a model. Keys name the tenant's
 * cache namespace, the resolved model and every request field that changes the answer; entries
 * are whole answers, replayed as a stream when the caller streams. Entries live in this process
 * (Caffeine, bounded per model) or in Redis shared by every gateway replica, with this process's
 * cache taking over while Redis is unreachable. Identical requests in flight at once make one
 * model call (single-flight).
 */
@NullMarked
package io.modelway.gateway.cache;

import org.jspecify.annotations.NullMarked;
