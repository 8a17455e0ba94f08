/**
 * The OpenAI wire protocol as every Modelway role speaks it: endpoints, the error body, request
 * inspection and server-sent-event framing.
 */
@NullMarked
package io.modelway.openai;

import org.jspecify.annotations.NullMarked;
