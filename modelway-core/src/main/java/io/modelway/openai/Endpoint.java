package io.modelway.openai;

/** The OpenAI API operations Modelway routes by model. */
public enum Endpoint {
  CHAT_COMPLETIONS("/chat/completions"),
  COMPLETIONS("/completions"),
  EMBEDDINGS("/embeddings");

  private final String path;

  Endpoint(String path) {
    this.path = path;
  }

  /** The path below the API base URL, such as {@code /chat/completions}. */
  public String path() {
    return path;
  }

  /** Whether the operation may answer as a stream of server-sent events. */
  public boolean canStream() {
    return this != EMBEDDINGS;
  }
}
