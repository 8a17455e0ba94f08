/**
 * The semantic cache's parts, independent of the request path: {@link
 * io.modelway.gateway.cache.semantic.SemanticKey} (what of a request is embedded and what must
 * match exactly), {@link io.modelway.gateway.cache.semantic.VectorIndex} (nearest cached question
 * per partition, Lucene HNSW in memory) and {@link
 * io.modelway.gateway.cache.semantic.SemanticMatch} (whether a near question may take the cached
 * answer: a similarity threshold and a lexical guard). The cache stage wires them together.
 */
@NullMarked
package io.modelway.gateway.cache.semantic;

import org.jspecify.annotations.NullMarked;
