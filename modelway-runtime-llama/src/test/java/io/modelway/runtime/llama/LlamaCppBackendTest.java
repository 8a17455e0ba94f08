package io.modelway.runtime.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class LlamaCppBackendTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final String CHAT =
      "{\"model\":\"tiny\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
          + "{\"role\":\"user\",\"content\":\"hello world\"}],\"temperature\":0,\"seed\":42";

  @TempDir static Path dir;
  static LlamaCppBackend backend;

  @BeforeAll
  static void load() {
    Path file = GgufWriter.write(dir.resolve("tiny.gguf"), 7);
    backend = LlamaCppBackend.load("tiny", file, new LlamaOptions(4, 2048, 1));
  }

  @AfterAll
  static void close() {
    backend.close();
  }

  @Test
  void greedyDecodingGivesTheSameTextEveryTime() {
    JsonNode first = answer(CHAT + ",\"max_tokens\":16}");
    JsonNode second = answer(CHAT + ",\"max_tokens\":16}");

    String text = first.at("/choices/0/message/content").stringValue();
    assertThat(text).isNotEmpty();
    assertThat(second.at("/choices/0/message/content").stringValue()).isEqualTo(text);
    assertThat(first.path("object").stringValue()).isEqualTo("chat.completion");
    assertThat(first.at("/choices/0/message/role").stringValue()).isEqualTo("assistant");
    assertThat(first.path("model").stringValue()).isEqualTo("tiny");
  }

  @Test
  void stopsAtMaxTokensWithFinishReasonLength() {
    JsonNode answer = answer(CHAT + ",\"max_tokens\":5}");

    assertThat(answer.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    assertThat(answer.at("/choices/0/finish_reason").stringValue()).isEqualTo("length");
    assertThat(answer.at("/usage/total_tokens").asInt()).isEqualTo(
        answer.at("/usage/prompt_tokens").asInt() + 5);
  }

  @Test
  void stopsBeforeAStopString() {
    String full = answer(CHAT + ",\"max_tokens\":24}").at("/choices/0/message/content").stringValue();
    String stop = full.substring(6, 8);
    String expected = full.substring(0, full.indexOf(stop));

    JsonNode answer = answer(CHAT + ",\"max_tokens\":24,\"stop\":[" + JSON.writeValueAsString(stop)
        + "]}");

    assertThat(answer.at("/choices/0/message/content").stringValue()).isEqualTo(expected);
    assertThat(answer.at("/choices/0/finish_reason").stringValue()).isEqualTo("stop");
  }

  @Test
  void continuesAFinalAssistantMessageInsteadOfAnsweringIt() {
    String full = answer(CHAT + ",\"max_tokens\":24}").at("/choices/0/message/content").stringValue();
    String begun = full.substring(0, full.length() / 2);
    String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        + "{\"role\":\"user\",\"content\":\"hello world\"},{\"role\":\"assistant\",\"content\":"
        + JSON.writeValueAsString(begun) + "}],\"temperature\":0,\"seed\":42,\"max_tokens\":4,"
        + "\"continue_final_message\":true,\"add_generation_prompt\":false}";

    JsonNode continued = answer(body);
    // The same as completing the templated conversation (with its generation prompt) followed by
    // the given beginning: the answer goes on from it rather than starting a new turn.
    JsonNode completed = answer(Endpoint.COMPLETIONS, "{\"model\":\"tiny\",\"prompt\":"
        + JSON.writeValueAsString("system: be brief\nuser: hello world\nassistant:" + begun)
        + ",\"temperature\":0,\"seed\":42,\"max_tokens\":4}");

    assertThat(continued.at("/choices/0/message/content").stringValue()).isNotEmpty()
        .isEqualTo(completed.at("/choices/0/text").stringValue());
    assertThat(continued.at("/usage/prompt_tokens").asInt())
        .isEqualTo(completed.at("/usage/prompt_tokens").asInt());
  }

  @Test
  void countsPromptTokensWithTheModelsTokenizer() {
    JsonNode completion = answer(Endpoint.COMPLETIONS,
        "{\"model\":\"tiny\",\"prompt\":\"the cat sat\",\"max_tokens\":3,\"temperature\":0}");

    // BOS, then one token per piece: the writer's vocabulary has no merges that build words, so
    // SentencePiece splits into "▁" and letters (▁ t h e ▁ c a t ▁ s a t). llama.cpp's own log
    // reports the same n_prompt_tokens for such a prompt.
    assertThat(completion.at("/usage/prompt_tokens").asInt()).isEqualTo(13);
    assertThat(completion.path("object").stringValue()).isEqualTo("text_completion");
    assertThat(completion.at("/choices/0/text").stringValue()).isNotEmpty();
  }

  @Test
  void countsAPromptBeforeRunningItAsTheRunReportsIt() {
    String chat = CHAT + ",\"max_tokens\":3}";
    String completion = "{\"model\":\"tiny\",\"prompt\":\"the cat sat\",\"max_tokens\":3}";
    assertThat(backend.promptTokens(Endpoint.CHAT_COMPLETIONS,
        chat.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(answer(chat).at("/usage/prompt_tokens").asLong());
    assertThat(backend.promptTokens(Endpoint.COMPLETIONS,
        completion.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        .isEqualTo(answer(Endpoint.COMPLETIONS, completion).at("/usage/prompt_tokens").asLong())
        .isEqualTo(13);
  }

  @Test
  void streamedChunksConcatenateToTheWholeAnswer() {
    String whole = answer(CHAT + ",\"max_tokens\":20}").at("/choices/0/message/content").stringValue();

    List<JsonNode> chunks = streamChunks(CHAT + ",\"max_tokens\":20,\"stream\":true}");

    assertThat(chunks.get(0).at("/choices/0/delta/role").stringValue()).isEqualTo("assistant");
    StringBuilder streamed = new StringBuilder();
    chunks.forEach(c -> streamed.append(c.at("/choices/0/delta/content").asString("")));
    assertThat(streamed.toString()).isEqualTo(whole);
    assertThat(chunks.size()).isGreaterThan(3);
    JsonNode last = chunks.get(chunks.size() - 1);
    assertThat(last.at("/choices/0/finish_reason").stringValue()).isEqualTo("length");
    assertThat(last.path("object").stringValue()).isEqualTo("chat.completion.chunk");
  }

  @Test
  void streamedCompletionTextConcatenatesToTheWholeText() {
    String body = "{\"model\":\"tiny\",\"prompt\":\"the cat sat\",\"max_tokens\":16,"
        + "\"temperature\":0";
    String whole = answer(Endpoint.COMPLETIONS, body + "}").at("/choices/0/text").stringValue();

    List<JsonNode> chunks = streamChunks(Endpoint.COMPLETIONS, body + ",\"stream\":true}");

    StringBuilder streamed = new StringBuilder();
    chunks.forEach(c -> streamed.append(c.at("/choices/0/text").asString("")));
    assertThat(streamed.toString()).isEqualTo(whole);
    assertThat(chunks).allSatisfy(c ->
        assertThat(c.path("object").stringValue()).isEqualTo("text_completion"));
  }

  @Test
  void streamedUsageMatchesTheWholeAnswersUsage() {
    JsonNode whole = answer(CHAT + ",\"max_tokens\":12,\"stop\":\"zz\"}");

    List<JsonNode> chunks = streamChunks(
        CHAT + ",\"max_tokens\":12,\"stop\":\"zz\",\"stream\":true,"
            + "\"stream_options\":{\"include_usage\":true}}");

    JsonNode usageChunk = chunks.get(chunks.size() - 1);
    assertThat(usageChunk.path("choices")).isEmpty();
    assertThat(usageChunk.path("usage")).isEqualTo(whole.path("usage"));
  }

  @Test
  void completesEightConcurrentCallsOnFourSlots() {
    List<Mono<String>> calls = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      calls.add(backend.send(call(Endpoint.CHAT_COMPLETIONS, CHAT + ",\"max_tokens\":32}", false))
          .flatMap(r -> r.body().reduce(LlamaCppBackendTest::concat))
          .map(b -> JSON.readTree(b).at("/choices/0/message/content").stringValue()));
    }

    List<String> texts = Flux.merge(calls).collectList().block(TIMEOUT);

    assertThat(texts).hasSize(8);
    assertThat(texts).allSatisfy(t -> assertThat(t).isEqualTo(texts.get(0)));
  }

  @Test
  void cancellingAStreamStopsGeneration() {
    // One slot of 4096 tokens: uncancelled, this call would generate about 4050 tokens.
    try (LlamaCppBackend roomy = LlamaCppBackend.load(
        "roomy", dir.resolve("tiny.gguf"), new LlamaOptions(1, 4096, 1))) {
      BackendResponse response = roomy.send(call(Endpoint.CHAT_COMPLETIONS,
          CHAT + ",\"stream\":true}", true)).block(TIMEOUT);

      StepVerifier.create(response.body())
          .expectNextCount(3)
          .thenCancel()
          .verify(TIMEOUT);

      await().atMost(TIMEOUT).until(() -> roomy.activeCalls() == 0);
      long generated = roomy.generatedTokens();
      assertThat(generated).isLessThan(1000);
      await().pollDelay(Duration.ofMillis(200)).until(() -> true);
      assertThat(roomy.generatedTokens()).isEqualTo(generated);
    }
  }

  @Test
  void aRefusedCallAmongRunningOnesFailsAloneAndTheOthersComplete() {
    String expected = answer(CHAT + ",\"max_tokens\":24}").at("/choices/0/message/content")
        .stringValue();
    List<Mono<String>> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String body = i == 2 ? CHAT + ",\"max_tokens\":24,\"n\":3}" : CHAT + ",\"max_tokens\":24}";
      calls.add(backend.send(call(Endpoint.CHAT_COMPLETIONS, body, false))
          .flatMap(r -> r.body().reduce(LlamaCppBackendTest::concat))
          .map(b -> JSON.readTree(b).at("/choices/0/message/content").stringValue())
          .onErrorResume(OpenAiException.class, e -> Mono.just("refused: " + e.param())));
    }

    List<String> texts = Flux.concat(calls.stream().map(Mono::cache).peek(Mono::subscribe)
        .toList()).collectList().block(TIMEOUT);

    assertThat(texts).containsExactly(expected, expected, "refused: n", expected, expected,
        expected);
  }

  @Test
  void closingEndsRunningAndWaitingCallsWith503AndStopsItsThread() throws Exception {
    // One slot of 32768 tokens: the running call would generate for many seconds.
    LlamaCppBackend closing = LlamaCppBackend.load(
        "closing", dir.resolve("tiny.gguf"), new LlamaOptions(1, 32768, 1));
    BackendResponse running = closing.send(call(Endpoint.CHAT_COMPLETIONS,
        CHAT + ",\"stream\":true}", true)).block(TIMEOUT);
    Mono<BackendResponse> waiting = closing.send(call(Endpoint.CHAT_COMPLETIONS,
        CHAT + ",\"max_tokens\":8}", false)).cache();
    waiting.subscribe(r -> { }, e -> { });
    await().atMost(TIMEOUT).until(() -> closing.load().queued() == 1);
    CompletableFuture<Void> closed = new CompletableFuture<>();

    StepVerifier.create(running.body())
        .expectNextCount(3)
        .then(() -> closed.completeAsync(() -> {
          closing.close();
          return null;
        }))
        .thenConsumeWhile(event -> true)
        .expectErrorSatisfies(e -> assertThat(((OpenAiException) e).status()).isEqualTo(503))
        .verify(TIMEOUT);
    closed.get(60, TimeUnit.SECONDS);
    StepVerifier.create(waiting)
        .expectErrorSatisfies(e -> assertThat(((OpenAiException) e).getMessage())
            .contains("shut down"))
        .verify(TIMEOUT);
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(t -> t.getName().equals("llama-closing"));
    StepVerifier.create(closing.send(call(Endpoint.CHAT_COMPLETIONS, CHAT + "}", false)))
        .expectErrorSatisfies(e -> assertThat(((OpenAiException) e).status()).isEqualTo(503))
        .verify(TIMEOUT);
  }

  @Test
  void refusesEmbeddings() {
    StepVerifier.create(backend.send(call(Endpoint.EMBEDDINGS,
            "{\"model\":\"tiny\",\"input\":\"x\"}", false)))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOfSatisfying(OpenAiException.class,
            o -> {
              assertThat(o.status()).isEqualTo(400);
              assertThat(o.getMessage()).contains("does not serve embeddings");
            }))
        .verify(TIMEOUT);
  }

  @Test
  void refusesMoreThanOneChoice() {
    StepVerifier.create(backend.send(call(Endpoint.CHAT_COMPLETIONS, CHAT + ",\"n\":2}", false)))
        .expectErrorSatisfies(e -> assertThat(((OpenAiException) e).param()).isEqualTo("n"))
        .verify(TIMEOUT);
  }

  @Test
  void failsToLoadATruncatedFileNamingTheReason() throws IOException {
    byte[] model = GgufWriter.bytes(7);
    Path truncated = Files.write(dir.resolve("truncated.gguf"),
        Arrays.copyOf(model, model.length / 2));

    assertThatThrownBy(() -> LlamaCppBackend.load("t", truncated, new LlamaOptions(1, 256, 1)))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(truncated.toString())
        .hasMessageContaining("truncated");
  }

  @Test
  void failsToLoadRandomBytesNamingTheReason() throws IOException {
    byte[] noise = new byte[4096];
    new Random(1).nextBytes(noise);
    Path random = Files.write(dir.resolve("random.gguf"), noise);

    assertThatThrownBy(() -> LlamaCppBackend.load("r", random, new LlamaOptions(1, 256, 1)))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(random.toString())
        .hasMessageContaining("not a GGUF file");
  }

  @Test
  void rejectsInvalidOptions() {
    assertThatThrownBy(() -> new LlamaOptions(0, 2048, 1))
        .hasMessage("slots: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new LlamaOptions(4, 2048, 0))
        .hasMessage("threads: 0 (expected: >= 1)");
  }

  @Test
  void defaultThreadsAreHalfTheProcessorsAndAtLeastOne() {
    assertThat(LlamaOptions.defaultThreads(1)).isEqualTo(1);
    assertThat(LlamaOptions.defaultThreads(2)).isEqualTo(1);
    assertThat(LlamaOptions.defaultThreads(3)).isEqualTo(1);
    assertThat(LlamaOptions.defaultThreads(16)).isEqualTo(8);
  }

  private static JsonNode answer(String body) {
    return answer(Endpoint.CHAT_COMPLETIONS, body);
  }

  private static JsonNode answer(Endpoint endpoint, String body) {
    BackendResponse response = backend.send(call(endpoint, body, false)).block(TIMEOUT);
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.contentType()).isEqualTo("application/json");
    byte[] bytes = response.body().reduce(LlamaCppBackendTest::concat).block(TIMEOUT);
    assertThat(response.contentLength()).isEqualTo(bytes.length);
    return JSON.readTree(bytes);
  }

  private static List<JsonNode> streamChunks(String body) {
    return streamChunks(Endpoint.CHAT_COMPLETIONS, body);
  }

  private static List<JsonNode> streamChunks(Endpoint endpoint, String body) {
    BackendResponse response = backend.send(call(endpoint, body, true))
        .block(TIMEOUT);
    assertThat(response.contentType()).isEqualTo("text/event-stream");
    List<byte[]> events = response.body().collectList().block(TIMEOUT);
    List<JsonNode> chunks = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      String event = new String(events.get(i), StandardCharsets.UTF_8);
      assertThat(event).startsWith("data: ").endsWith("\n\n");
      if (i == events.size() - 1) {
        assertThat(event).isEqualTo("data: [DONE]\n\n");
      } else {
        chunks.add(JSON.readTree(event.substring(6)));
      }
    }
    return chunks;
  }

  private static BackendCall call(Endpoint endpoint, String body, boolean stream) {
    return new BackendCall(endpoint, body.getBytes(StandardCharsets.UTF_8), stream, "req-1");
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
