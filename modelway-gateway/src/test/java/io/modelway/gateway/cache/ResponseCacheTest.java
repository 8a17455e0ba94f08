package io.modelway.gateway.cache;

import static io.modelway.gateway.TestGateway.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.modelway.gateway.TestGateway;
import io.modelway.sim.ChaosMode;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The exact response cache through a real gateway, in front of a simulated model. */
class ResponseCacheTest {
  private static SimServer sim;
  /** Takes its time, so that a burst of requests is in flight at once. */
  private static SimServer slow;
  /** Dies in a test: a model that cannot be reached any more. */
  private static SimServer doomed;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    slow = SimServer.start(SimOptions.defaults().withTiming(Duration.ofMillis(500), 200));
    doomed = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
          slow: {url: "%s"}
          doomed: {url: "%s"}
        models:
          - {name: staler, backend: doomed, cache: {ttl: 1s, stale-if-error: 1h}}
          - {name: chat, backend: sim}
          - {name: sampled, backend: sim, cache: {mode: always}}
          - {name: uncached, backend: sim, cache: {mode: "off"}}
          - {name: slow, backend: slow}
        """.formatted(sim.baseUrl(), slow.baseUrl(), doomed.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
    slow.close();
    doomed.close();
  }

  private static String chatBody(String model, String question, @Nullable Double temperature) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
        + question + "\"}]" + (temperature == null ? "" : ",\"temperature\":" + temperature) + "}";
  }

  private static HttpResponse<String> chat(String key, String body, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> response = TestGateway.send(request.build());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response;
  }

  private static String cacheResult(HttpResponse<String> response) {
    return response.headers().firstValue(CacheStage.RESULT_HEADER).orElse("none");
  }

  private static String tenantWithKey(String tenant) {
    ok(gateway.call("POST", "/admin/v1/tenants", TestGateway.KEY, "{\"id\":\"" + tenant + "\"}"));
    return ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"" + tenant + "\"}")).path("key").asString();
  }

  @Test
  void aRepeatedDeterministicRequestIsAnsweredFromTheCacheWithoutCallingTheModel() {
    String body = chatBody("chat", "what is a cache?", 0.0);
    long before = sim.stats().requests();
    HttpResponse<String> first = chat(TestGateway.KEY, body);
    HttpResponse<String> second = chat(TestGateway.KEY,
        chatBody("chat", "what is a cache?", 0.0).replace("\"temperature\":0.0", "\"temperature\":0"));
    assertThat(cacheResult(first)).isEqualTo("miss");
    assertThat(cacheResult(second)).isEqualTo("hit");
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(second.headers().firstValue(CacheStage.KEY_HEADER))
        .isEqualTo(first.headers().firstValue(CacheStage.KEY_HEADER));
    assertThat(sim.stats().requests() - before).isEqualTo(1);
  }

  @Test
  void aHitIsInTheLedgerWithNoModelTokens() {
    String body = chatBody("chat", "ledger me", 0.0);
    chat(TestGateway.KEY, body, "x-request-id", "cache-ledger-miss");
    chat(TestGateway.KEY, body, "x-request-id", "cache-ledger-hit");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode miss = ok(gateway.get("/admin/v1/usage?request_id=cache-ledger-miss")).path("data");
      JsonNode hit = ok(gateway.get("/admin/v1/usage?request_id=cache-ledger-hit")).path("data");
      assertThat(miss.size()).isEqualTo(1);
      assertThat(hit.size()).isEqualTo(1);
      assertThat(miss.get(0).path("cache_hit").asBoolean()).isFalse();
      assertThat(miss.get(0).path("completion_tokens").asLong()).isPositive();
      assertThat(hit.get(0).path("cache_hit").asBoolean()).isTrue();
      assertThat(hit.get(0).path("prompt_tokens").asLong()).isZero();
      assertThat(hit.get(0).path("completion_tokens").asLong()).isZero();
      assertThat(hit.get(0).path("outcome").asString()).isEqualTo("completed");
    });
  }

  @Test
  void requestsThatSampleAreNotCachedByDefault() {
    String body = chatBody("chat", "tell me something new", null);
    long before = sim.stats().requests();
    assertThat(cacheResult(chat(TestGateway.KEY, body))).isEqualTo("none");
    assertThat(cacheResult(chat(TestGateway.KEY, body))).isEqualTo("none");
    assertThat(chat(TestGateway.KEY, chatBody("chat", "tell me something new", 0.7)).headers()
        .firstValue(CacheStage.RESULT_HEADER)).isEmpty();
    assertThat(sim.stats().requests() - before).isEqualTo(3);
  }

  @Test
  void aModelSetToAlwaysCachesSampledRequestsAndOneSetOffCachesNothing() {
    String sampled = chatBody("sampled", "sample me", 0.9);
    chat(TestGateway.KEY, sampled);
    assertThat(cacheResult(chat(TestGateway.KEY, sampled))).isEqualTo("hit");
    String off = chatBody("uncached", "sample me", 0.0);
    long before = sim.stats().requests();
    assertThat(cacheResult(chat(TestGateway.KEY, off))).isEqualTo("none");
    assertThat(cacheResult(chat(TestGateway.KEY, off))).isEqualTo("none");
    assertThat(sim.stats().requests() - before).isEqualTo(2);
  }

  @Test
  void anyParameterThatChangesTheAnswerIsPartOfTheKey() {
    chat(TestGateway.KEY, chatBody("chat", "parameters", 0.0));
    String withMaxTokens = chatBody("chat", "parameters", 0.0).replace("}]", "}],\"max_tokens\":3");
    String withUnknown = chatBody("chat", "parameters", 0.0).replace("}]", "}],\"new_param\":true");
    assertThat(cacheResult(chat(TestGateway.KEY, withMaxTokens))).isEqualTo("miss");
    assertThat(cacheResult(chat(TestGateway.KEY, withUnknown))).isEqualTo("miss");
    // How the answer is delivered is not part of it: the end user's id, the order of fields.
    String reordered = "{\"temperature\":0,\"user\":\"u-42\",\"messages\":[{\"content\":"
        + "\"parameters\",\"role\":\"user\"}],\"model\":\"chat\"}";
    assertThat(cacheResult(chat(TestGateway.KEY, reordered))).isEqualTo("hit");
  }

  @Test
  void tenantsNeverShareEntriesUnlessAnAdminPutsThemInOneNamespace() {
    String a = tenantWithKey("cache-a");
    String b = tenantWithKey("cache-b");
    String body = chatBody("chat", "a secret of my own", 0.0);
    assertThat(cacheResult(chat(a, body))).isEqualTo("miss");
    assertThat(cacheResult(chat(b, body))).isEqualTo("miss");
    assertThat(cacheResult(chat(a, body))).isEqualTo("hit");
    assertThat(cacheResult(chat(b, body))).isEqualTo("hit");

    ok(gateway.call("PUT", "/admin/v1/cache/namespaces/cache-a", TestGateway.KEY,
        "{\"namespace\":\"docs\"}"));
    ok(gateway.call("PUT", "/admin/v1/cache/namespaces/cache-b", TestGateway.KEY,
        "{\"namespace\":\"docs\"}"));
    String shared = chatBody("chat", "a shared question", 0.0);
    assertThat(cacheResult(chat(a, shared))).isEqualTo("miss");
    assertThat(cacheResult(chat(b, shared))).isEqualTo("hit");
    // A tenant admin may not put its tenant into another's namespace.
    String tenantAdmin = ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"cache-a\",\"role\":\"tenant_admin\"}")).path("key").asString();
    assertThat(gateway.call("PUT", "/admin/v1/cache/namespaces/cache-a", tenantAdmin,
        "{\"namespace\":\"other\"}").statusCode()).isEqualTo(403);
  }

  @Test
  void noCacheSkipsReadingAndNoStoreSkipsKeeping() {
    String body = chatBody("chat", "fresh please", 0.0);
    long before = sim.stats().requests();
    assertThat(cacheResult(chat(TestGateway.KEY, body, "Cache-Control", "no-store"))).isEqualTo("miss");
    assertThat(cacheResult(chat(TestGateway.KEY, body))).as("nothing was kept").isEqualTo("miss");
    assertThat(cacheResult(chat(TestGateway.KEY, body, "Cache-Control", "no-cache")))
        .as("not read, though kept").isEqualTo("miss");
    assertThat(cacheResult(chat(TestGateway.KEY, body))).isEqualTo("hit");
    assertThat(cacheResult(chat(TestGateway.KEY, body, "Cache-Control", "no-cache, no-store")))
        .isEqualTo("none");
    assertThat(sim.stats().requests() - before).isEqualTo(4);
  }

  @Test
  void aStreamedAnswerIsKeptWholeAndReplayedAsTheSameStream() {
    OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(gateway.url("/v1"))
        .apiKey(TestGateway.KEY).maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    try {
      ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("chat")
          .addSystemMessage("You are terse.").addUserMessage("Stream this, please.")
          .temperature(0.0)
          .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
          .build();
      long before = sim.stats().requests();
      List<ChatCompletionChunk> liveChunks = new ArrayList<>();
      String live = streamed(client, params, liveChunks);
      List<ChatCompletionChunk> chunks = new ArrayList<>();
      String replayed = streamed(client, params, chunks);
      ChatCompletion whole = client.chat().completions().create(params);
      assertThat(sim.stats().requests() - before).as("one model call").isEqualTo(1);
      assertThat(replayed).isNotEmpty().isEqualTo(live);
      assertThat(whole.choices().get(0).message().content()).hasValue(live);
      String liveFinish = liveChunks.stream().flatMap(c -> c.choices().stream())
          .flatMap(c -> c.finishReason().stream()).findFirst().orElseThrow().asString();
      assertThat(whole.choices().get(0).finishReason().asString()).isEqualTo(liveFinish);
      assertThat(chunks.stream().flatMap(c -> c.choices().stream())
          .flatMap(c -> c.finishReason().stream()).map(r -> r.asString()).toList())
          .containsExactly(liveFinish);
      ChatCompletionChunk last = chunks.get(chunks.size() - 1);
      assertThat(last.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(16));
      assertThat(chunks.get(0).choices().get(0).delta().role()).isPresent();
    } finally {
      client.close();
    }
  }

  private static String streamed(OpenAIClient client, ChatCompletionCreateParams params,
      List<ChatCompletionChunk> chunks) {
    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream =
        client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
      });
    }
    return text.toString();
  }

  @Test
  void aBurstOfOneHundredIdenticalRequestsMakesOneModelCall() {
    String body = chatBody("slow", "everyone asks this at once", 0.0);
    long before = slow.stats().requests();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(TestGateway.client().sendAsync(HttpRequest.newBuilder(
              URI.create(gateway.url("/v1/chat/completions")))
          .header("Authorization", "Bearer " + TestGateway.KEY)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    List<HttpResponse<String>> answers = calls.stream().map(CompletableFuture::join).toList();
    assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
    assertThat(answers.stream().map(HttpResponse::body).distinct()).hasSize(1);
    assertThat(slow.stats().requests() - before).isEqualTo(1);
  }

  @Test
  void anAdminPurgesByModelAndATenantAdminOnlyItsOwnTenant() {
    String c = tenantWithKey("cache-c");
    String body = chatBody("chat", "purge me", 0.0);
    chat(c, body);
    chat(TestGateway.KEY, body);
    String tenantAdmin = ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"cache-c\",\"role\":\"tenant_admin\"}")).path("key").asString();
    assertThat(gateway.call("DELETE", "/admin/v1/cache?tenant=admin", tenantAdmin, null)
        .statusCode()).isEqualTo(404);
    JsonNode purged = ok(gateway.call("DELETE", "/admin/v1/cache?model=chat", tenantAdmin, null));
    assertThat(purged.path("purged").asLong()).isEqualTo(1);
    assertThat(cacheResult(chat(c, body))).isEqualTo("miss");
    assertThat(cacheResult(chat(TestGateway.KEY, body))).as("another tenant's").isEqualTo("hit");

    String key = chat(TestGateway.KEY, body).headers().firstValue(CacheStage.KEY_HEADER).orElseThrow();
    ok(gateway.call("DELETE", "/admin/v1/cache?key=" + key, TestGateway.KEY, null));
    assertThat(cacheResult(chat(TestGateway.KEY, body))).isEqualTo("miss");
    assertThat(gateway.call("DELETE", "/admin/v1/cache?key=nothex", TestGateway.KEY, null)
        .statusCode()).isEqualTo(400);
  }

  @Test
  void embeddingsAreCachedByDefault() {
    String body = "{\"model\":\"chat\",\"input\":[\"one\",\"two\"]}";
    HttpResponse<String> first = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/embeddings"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    HttpResponse<String> second = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/embeddings"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    assertThat(cacheResult(first)).isEqualTo("miss");
    assertThat(cacheResult(second)).isEqualTo("hit");
    assertThat(second.body()).isEqualTo(first.body());
  }

  @Test
  void aPlanTurnsTheCacheOffOrOnForItsTenantsAndPricesItsHits() {
    ok(gateway.call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"no-cache\",\"cache\":{\"mode\":\"off\"}}"));
    JsonNode plan = ok(gateway.call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"cache-all\",\"cache\":{\"mode\":\"always\",\"answer_price\":0.002,"
            + "\"currency\":\"EUR\"}}"));
    assertThat(plan.path("cache").path("mode").asString()).isEqualTo("always");
    assertThat(gateway.call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"bad-cache\",\"cache\":{\"mode\":\"sometimes\"}}").statusCode())
        .isEqualTo(400);
    ok(gateway.call("POST", "/admin/v1/tenants", TestGateway.KEY,
        "{\"id\":\"plan-off\",\"plan\":\"no-cache\"}"));
    ok(gateway.call("POST", "/admin/v1/tenants", TestGateway.KEY,
        "{\"id\":\"plan-all\",\"plan\":\"cache-all\"}"));
    String off = ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"plan-off\"}")).path("key").asString();
    String all = ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"plan-all\"}")).path("key").asString();

    String deterministic = chatBody("chat", "plans decide", 0.0);
    assertThat(cacheResult(chat(off, deterministic))).isEqualTo("none");
    assertThat(cacheResult(chat(off, deterministic))).isEqualTo("none");

    String sampled = chatBody("chat", "plans decide", 0.8);
    assertThat(cacheResult(chat(all, sampled))).isEqualTo("miss");
    assertThat(cacheResult(chat(all, sampled, "x-request-id", "priced-hit"))).isEqualTo("hit");
    assertThat(cacheResult(chat(all, chatBody("uncached", "plans decide", 0.0))))
        .as("a model set off stays off").isEqualTo("none");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode hit = ok(gateway.get("/admin/v1/usage?request_id=priced-hit")).path("data");
      assertThat(hit.size()).isEqualTo(1);
      assertThat(hit.get(0).path("cache_hit").asBoolean()).isTrue();
      assertThat(hit.get(0).path("cost").decimalValue()).isEqualByComparingTo("0.002");
      assertThat(hit.get(0).path("currency").asString()).isEqualTo("EUR");
    });
  }

  /** Regression: a key's own plan replaced its tenant's cache policy, and hits became free. */
  @Test
  void aKeysOwnPlanCannotMakeItsTenantsCacheHitsCheaper() {
    ok(gateway.call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"hits-cost\",\"cache\":{\"answer_price\":0.01}}"));
    ok(gateway.call("POST", "/admin/v1/plans", TestGateway.KEY,
        "{\"id\":\"hits-free\",\"cache\":{\"mode\":\"always\",\"answer_price\":0}}"));
    ok(gateway.call("POST", "/admin/v1/tenants", TestGateway.KEY,
        "{\"id\":\"paying\",\"plan\":\"hits-cost\"}"));
    String key = ok(gateway.call("POST", "/admin/v1/keys", TestGateway.KEY,
        "{\"tenant\":\"paying\",\"plan\":\"hits-free\"}")).path("key").asString();

    String body = chatBody("chat", "who pays for hits", 0.7);
    assertThat(cacheResult(chat(key, body))).as("the key's plan fills the mode").isEqualTo("miss");
    assertThat(cacheResult(chat(key, body, "x-request-id", "narrowed-hit"))).isEqualTo("hit");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode hit = ok(gateway.get("/admin/v1/usage?request_id=narrowed-hit")).path("data");
      assertThat(hit.size()).isEqualTo(1);
      assertThat(hit.get(0).path("cost").decimalValue()).isEqualByComparingTo("0.01");
      assertThat(hit.get(0).path("currency").asString()).isEqualTo("USD");
    });
  }

  @Test
  void anAnswerPastItsTtlIsServedOnlyWhenTheModelCannotAnswer() {
    String body = chatBody("staler", "still there?", 0.0);
    HttpResponse<String> first = chat(TestGateway.KEY, body);
    assertThat(cacheResult(first)).isEqualTo("miss");
    doomed.switchChaosMode(ChaosMode.DIE); // its port refuses connections from now on
    // Fresh for a second, then stale: every call answers 200, from the cache while fresh and,
    // once the model cannot be reached, with the stale answer.
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      HttpResponse<String> answer = chat(TestGateway.KEY, body);
      assertThat(answer.body()).isEqualTo(first.body());
      return cacheResult(answer).equals("stale");
    });
    // Without a kept answer, the failure is the client's to see.
    HttpResponse<String> uncached = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
            URI.create(gateway.url("/v1/chat/completions"))))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(chatBody("staler", "never asked", 0.0))).build());
    assertThat(uncached.statusCode()).isEqualTo(502);
  }
}
