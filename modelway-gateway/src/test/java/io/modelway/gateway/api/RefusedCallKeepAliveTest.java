package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * Regression: an admin call refused before its (empty) body was read — a member's {@code POST
 * /admin/v1/keys/{id}/revoke} — left the next request on the same keep-alive connection
 * unanswered, within a few dozen tries (CI saw it as tests waiting a minute for an answer).
 * Every answer must come, on one connection, call after call.
 */
class RefusedCallKeepAliveTest {

  @Test
  void theNextCallOnAConnectionIsAnsweredAfterARefusalWithAnUnreadBody() throws Exception {
    try (TestGateway gateway = TestGateway.start("", Map.of())) {
      gateway.post("/admin/v1/tenants", "{\"id\":\"acme\"}");
      String member = JsonMapper.builder().build()
          .readTree(gateway.post("/admin/v1/keys", "{\"tenant\":\"acme\"}").body()).path("key")
          .asString();
      HttpClient oneConnection = HttpClient.newHttpClient();
      for (int i = 0; i < 300; i++) {
        boolean refused = i % 2 == 0;
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.url(refused
                ? "/admin/v1/keys/nope/revoke" : "/admin/v1/tenants")))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + (refused ? member : TestGateway.KEY))
            .method(refused ? "POST" : "GET", HttpRequest.BodyPublishers.noBody())
            .build();
        HttpResponse<String> answer = oneConnection.send(request,
            HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as("call " + i).isEqualTo(refused ? 403 : 200);
      }
    }
  }
}
