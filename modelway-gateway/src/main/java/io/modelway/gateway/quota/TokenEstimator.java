package io.modelway.gateway.quota;

import static java.util.Objects.requireNonNull;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import io.modelway.openai.Endpoint;
import io.modelway.openai.InspectedRequest;
import io.modelway.runtime.TokenCounter;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * Estimates a call's prompt tokens before it is made, for the tokens-per-minute limits: the text
 * the model will read (each chat message's content and name, a completion's prompt, the inputs
 * to embed), counted with OpenAI's tokenizer of the model's family — {@code o200k_base} for the
 * GPT-4o, GPT-4.1, GPT-5 and o-series families, {@code cl100k_base} for every other model, whose
 * own tokenizers (Llama 3, Qwen, Mistral) are of a similar size — plus the chat format's few
 * tokens per message. An estimate, corrected by the real usage when the call ends. A GGUF model
 * this process runs counts its own prompts exactly, with its vocabulary and chat template.
 *
 * <p>Counting is CPU work on the calling thread: past {@value #EXACT_CHARS} characters of text a
 * call is counted on its first {@value #EXACT_CHARS} and extrapolated. Thread-safe.
 */
final class TokenEstimator {
  /** Characters counted exactly; the rest of a longer text is extrapolated from them. */
  static final int EXACT_CHARS = 32_768;
  /** Tokens the chat format adds per message (role and separators), as OpenAI documents it. */
  private static final int PER_MESSAGE = 4;
  /** Tokens that prime the assistant's answer. */
  private static final int PER_CHAT = 3;

  /** The largest body counted by a local model's own tokenizer; larger ones are estimated. */
  static final int LOCAL_EXACT_BYTES = 256 * 1024;

  private final Encoding o200k;
  private final Encoding cl100k;
  private final Function<String, Optional<TokenCounter>> local;

  /**
   * @param local the token counter of a model this process runs itself (a GGUF model: its own
   *     vocabulary and chat template), by name
   */
  TokenEstimator(Function<String, Optional<TokenCounter>> local) {
    EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
    this.o200k = registry.getEncoding(EncodingType.O200K_BASE);
    this.cl100k = registry.getEncoding(EncodingType.CL100K_BASE);
    this.local = requireNonNull(local, "local");
  }

  /**
   * The prompt tokens {@code body}, a valid request to {@code request.endpoint()}, will use:
   * exact for a chat or completion of a model this process runs with its own tokenizer (and a body
   * up to {@value #LOCAL_EXACT_BYTES} bytes), else estimated with OpenAI's tokenizers.
   */
  long promptTokens(InspectedRequest request, byte[] body) {
    if (request.endpoint() != Endpoint.EMBEDDINGS && body.length <= LOCAL_EXACT_BYTES) {
      Optional<TokenCounter> counter = local.apply(request.model());
      if (counter.isPresent()) {
        try {
          return counter.get().promptTokens(request.endpoint(), body);
        } catch (RuntimeException e) {
          // a request its template cannot render: the model refuses it; estimate meanwhile
        }
      }
    }
    Encoding encoding = encodingOf(request.model());
    JsonNode json = InspectedRequest.tree(body);
    return switch (request.endpoint()) {
      case CHAT_COMPLETIONS -> {
        long tokens = PER_CHAT;
        for (JsonNode message : json.path("messages")) {
          tokens += PER_MESSAGE + count(encoding, message.path("content"))
              + count(encoding, message.path("name"));
        }
        yield tokens;
      }
      case COMPLETIONS -> count(encoding, json.path("prompt"));
      case EMBEDDINGS -> count(encoding, json.path("input"));
    };
  }

  /**
   * The most {@code body}, a valid request to {@code request.endpoint()}, can use: see {@link
   * WorstCase}. Exact prompt tokens for a chat or completion of a model this process runs (a body
   * up to {@value #LOCAL_EXACT_BYTES} bytes), else bounded by the body's bytes.
   */
  WorstCase worstCase(InspectedRequest request, byte[] body) {
    JsonNode json = InspectedRequest.tree(body);
    Endpoint endpoint = request.endpoint();
    long prompt = -1;
    if (endpoint != Endpoint.EMBEDDINGS && body.length <= LOCAL_EXACT_BYTES) {
      Optional<TokenCounter> counter = local.apply(request.model());
      if (counter.isPresent()) {
        try {
          prompt = counter.get().promptTokens(endpoint, body);
        } catch (RuntimeException e) {
          // a request its template cannot render: the model refuses it; bound it by its bytes
        }
      }
    }
    if (prompt < 0) {
      long pieces = 0;
      long media = 0;
      for (JsonNode message : json.path("messages")) {
        pieces++;
        for (JsonNode part : message.path("content")) {
          if (part.isObject() && !part.path("text").isString()) {
            media++;
          }
        }
      }
      pieces += json.path("tools").size() + json.path("functions").size();
      prompt = body.length + WorstCase.PER_CALL + pieces * WorstCase.PER_MESSAGE
          + media * WorstCase.PER_MEDIA;
    }
    if (endpoint == Endpoint.EMBEDDINGS) {
      return new WorstCase(prompt, 0, OptionalInt.empty(), "");
    }
    long perAnswer = Math.max(json.path("max_tokens").asLong(-1),
        json.path("max_completion_tokens").asLong(-1));
    OptionalInt cap = OptionalInt.empty();
    if (perAnswer < 0) {
      perAnswer = WorstCase.DEFAULT_CAP;
      cap = OptionalInt.of(WorstCase.DEFAULT_CAP);
    }
    long answers = Math.max(Math.max(1, json.path("n").asLong(1)),
        json.path("best_of").asLong(1));
    JsonNode prompts = json.path("prompt");
    if (endpoint == Endpoint.COMPLETIONS && prompts.isArray() && !prompts.isEmpty()
        && !prompts.get(0).isNumber()) {
      answers *= prompts.size(); // a batch: each prompt is answered
    }
    long completion = answers > WorstCase.MAX / Math.max(1, perAnswer) ? WorstCase.MAX
        : answers * perAnswer;
    return new WorstCase(Math.min(prompt, WorstCase.MAX), completion, cap, cap.isEmpty() ? ""
        : json.has("max_tokens") ? "max_completion_tokens" : "max_tokens");
  }

  /**
   * Tokens of a prompt-like value: a string; an array of strings, of token ids, or of arrays of
   * token ids; or an array of content parts, of which the text ones count.
   */
  private long count(Encoding encoding, JsonNode value) {
    if (value.isString()) {
      return count(encoding, value.asString());
    }
    if (value.isNumber()) {
      return 1; // a token id
    }
    long tokens = 0;
    if (value.isArray()) {
      for (JsonNode item : value) {
        tokens += item.isObject() ? count(encoding, item.path("text")) : count(encoding, item);
      }
    }
    return tokens;
  }

  private static long count(Encoding encoding, String text) {
    if (text.length() <= EXACT_CHARS) {
      return encoding.countTokensOrdinary(text);
    }
    long head = encoding.countTokensOrdinary(text.substring(0, EXACT_CHARS));
    return (long) Math.ceil((double) head * text.length() / EXACT_CHARS);
  }

  private Encoding encodingOf(String model) {
    String name = model.substring(model.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    boolean o200 = name.startsWith("gpt-4o") || name.startsWith("chatgpt-4o")
        || name.startsWith("gpt-4.1") || name.startsWith("gpt-4.5") || name.startsWith("gpt-5")
        || name.startsWith("o1") || name.startsWith("o3") || name.startsWith("o4")
        || name.startsWith("gpt-oss");
    return o200 ? o200k : cl100k;
  }
}
