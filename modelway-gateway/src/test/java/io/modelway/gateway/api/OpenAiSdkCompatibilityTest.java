package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
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
import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, as a user would point it at Modelway. */
class OpenAiSdkCompatibilityTest {
  private static SimServer sim;
  private static SimServer failing;
  private static TestGateway gateway;
  private static OpenAIClient client;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    failing = SimServer.start(SimOptions.defaults().withErrorRate(1));
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
          failing: {url: "%s"}
        models:
          - {name: gpt-4o-mini, backend: sim}
          - {name: text-embedding-3-small, backend: sim}
          - {name: broken, backend: failing}
        """.formatted(sim.baseUrl(), failing.baseUrl()), Map.of());
    client = OpenAIOkHttpClient.builder()
        .baseUrl(gateway.url("/v1"))
        .apiKey(TestGateway.KEY)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  @AfterAll
  static void stop() {
    client.close();
    gateway.close();
    sim.close();
    failing.close();
  }

  private static ChatCompletionCreateParams.Builder chat(String model) {
    return ChatCompletionCreateParams.builder()
        .model(model)
        .addSystemMessage("You are terse.")
        .addUserMessage("Say something.");
  }

  @Test
  void chatCompletion() {
    ChatCompletion completion = client.chat().completions().create(chat("gpt-4o-mini").maxCompletionTokens(5).build());
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().get(0).message().content()).hasValueSatisfying(
        text -> assertThat(text.split(" ")).hasSize(5));
    assertThat(completion.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(5));
  }

  @Test
  void streamingChatConcatenatesToTheSameAnswer() {
    String whole = client.chat().completions().create(chat("gpt-4o-mini").build())
        .choices().get(0).message().content().orElseThrow();
    StringBuilder streamed = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        chat("gpt-4o-mini").streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append));
      });
    }
    assertThat(streamed.toString()).isEqualTo(whole);
    assertThat(chunks.get(chunks.size() - 1).usage()).hasValueSatisfying(
        u -> assertThat(u.completionTokens()).isEqualTo(16));
  }

  @Test
  void completion() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model("gpt-4o-mini").prompt("Once upon a time").maxTokens(3).build());
    assertThat(completion.choices().get(0).text().split(" ")).hasSize(3);
  }

  @Test
  void embeddings() {
    CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("text-embedding-3-small").input("hello world").dimensions(32).build());
    assertThat(response.data()).hasSize(1);
    assertThat(response.data().get(0).embedding()).hasSize(32);
  }

  @Test
  void listsAndRetrievesModels() {
    List<String> ids = client.models().list().data().stream().map(Model::id).toList();
    // The configured models, then each backend's own list (the sim lists "sim") as BACKEND/MODEL.
    assertThat(ids).containsExactly("gpt-4o-mini", "text-embedding-3-small", "broken",
        "failing/sim", "sim/sim");
    assertThat(client.models().retrieve("gpt-4o-mini").id()).isEqualTo("gpt-4o-mini");
    assertThat(client.models().retrieve("sim/any-model").id()).isEqualTo("sim/any-model");
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
    assertThatThrownBy(() -> client.chat().completions().create(chat("gpt-4o-mini").temperature(7.0).build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(400);
          assertThat(e.param()).contains("temperature");
        });
  }

  @Test
  void backendFailureRaisesInternalServerError() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("broken").build()))
        .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.statusCode()).isEqualTo(500));
  }
}
