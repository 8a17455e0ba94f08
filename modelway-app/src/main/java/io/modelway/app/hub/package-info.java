/**
 * A Hugging Face Hub client for downloading model files: the repository tree, a file's metadata
 * (size and SHA-256 from the hub, as {@code huggingface_hub} reads them) and a resumable,
 * verified download. {@link io.modelway.app.hub.HubClient} is the entry point.
 */
@NullMarked
package io.modelway.app.hub;

import org.jspecify.annotations.NullMarked;
