package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.runtime.ModelHost;
import io.modelway.runtime.llama.GgufWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The official OpenAI Java SDK pointed straight at a worker (no gateway in front), against its
 * real models: a tiny GGUF through llama.cpp and the built-in embedding model.
 */
class WorkerSdkTest {
  private static Path dir;
  private static ModelHost models;
  private static ConfigurableApplicationContext worker;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("modelway-worker-sdk");
    ModelFlags flags = new ModelFlags();
    flags.models.put("tiny", GgufWriter.write(dir.resolve("tiny.gguf"), 5));
    flags.slots = 2;
    flags.contextSize = 512;
    models = flags.startLoading(dir);
    worker = GatewayRole.start(GatewayOptions.of(dir).withRole(GatewayOptions.Role.WORKER)
        .withEnvironment(name -> null).withModels(models));
    await().atMost(Duration.ofMinutes(1)).until(models::settled);
    client = OpenAIOkHttpClient.builder()
        .baseUrl("http://127.0.0.1:" + GatewayRole.port(worker) + "/v1")
        .apiKey("sk-unused")
        .maxRetries(0)
        .timeout(Duration.ofSeconds(60))
        .build();
  }

  @AfterAll
  static void stop() {
    client.close();
    worker.close();
    models.close();
  }

  private static ChatCompletionCreateParams.Builder chat(String model) {
    return ChatCompletionCreateParams.builder()
        .model(model)
        .temperature(0.0)
        .seed(3)
        .addSystemMessage("You are terse.")
        .addUserMessage("Say something.");
  }

  @Test
  void chatCompletion() {
    ChatCompletion completion = client.chat().completions().create(
        chat("tiny").maxCompletionTokens(5).build());
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.model()).isEqualTo("tiny");
    assertThat(completion.usage()).hasValueSatisfying(u -> {
      assertThat(u.completionTokens()).isEqualTo(5);
      assertThat(u.promptTokens()).isPositive();
    });
  }

  @Test
  void streamingChatConcatenatesToTheSameAnswer() {
    String whole = client.chat().completions().create(chat("tiny").maxCompletionTokens(8).build())
        .choices().get(0).message().content().orElseThrow();
    StringBuilder streamed = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        chat("tiny").maxCompletionTokens(8)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append));
      });
    }
    assertThat(streamed.toString()).isEqualTo(whole);
    assertThat(chunks.get(chunks.size() - 1).usage())
        .hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(8));
  }

  @Test
  void completion() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model("tiny").prompt("Once upon a time").maxTokens(3).temperature(0.0).build());
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(3));
  }

  @Test
  void embeddings() {
    CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("all-minilm-l6-v2").input("hello world").build());
    assertThat(response.data()).hasSize(1);
    assertThat(response.data().get(0).embedding()).hasSize(384);
    assertThat(response.usage().promptTokens()).isPositive();
  }

  @Test
  void listsAndRetrievesModels() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    assertThat(ids).containsExactly("all-minilm-l6-v2", "tiny");
    assertThat(client.models().retrieve("tiny").id()).isEqualTo("tiny");
  }

  @Test
  void unknownModelRaisesNotFound() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("gpt-9").build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.code()).contains("model_not_found");
        });
  }

  @Test
  void invalidParameterRaisesBadRequest() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("tiny").temperature(7.0).build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(400);
          assertThat(e.param()).contains("temperature");
        });
  }
}
