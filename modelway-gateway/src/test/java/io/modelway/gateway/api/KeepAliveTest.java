package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every request on a keep-alive connection is answered, whatever came before it on that
 * connection. Both cases once left the next request unread (CI saw tests wait a minute).
 */
class KeepAliveTest {
  private static final String AUTH = "Authorization: Bearer " + TestGateway.KEY + "\r\n";
  private static final String CHAT =
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  /** A chat call to model {@code chat}, as raw HTTP/1.1. */
  private static final String CHAT_CALL = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      + AUTH + "Content-Type: application/json\r\nContent-Length: " + CHAT.length()
      + "\r\n\r\n" + CHAT;

  /** The model listing, asking to close the connection after it. */
  private static final String LIST_AND_CLOSE =
      "GET /v1/models HTTP/1.1\r\nHost: x\r\n" + AUTH + "Connection: close\r\n\r\n";
  /** A sim whose answers take 100 ms. */
  private static final SimOptions SLOW = SimOptions.defaults()
      .withTiming(Duration.ofMillis(100), 1000);

  /** A gateway whose model {@code chat} is served by {@code sim}. */
  private static TestGateway gatewayTo(SimServer sim) {
    return TestGateway.start("""
        backends:
          sim: {url: '%s'}
        models:
          - {name: chat, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
  }

  /**
   * Regression: an admin call refused before its (empty) body was read — a member's {@code POST
   * /admin/v1/keys/{id}/revoke} — left the next request unanswered within a few dozen tries.
   */
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

  /**
   * Regression (Reactor Netty 1.3.7, reactor/reactor-netty#4361): a request that arrived while
   * the one before it was still being answered waits in a queue; when it was then answered at
   * once, the server stopped reading the connection, and the request after it was never read.
   * A client that sends its next request the moment an answer arrives can hit the same window
   * without pipelining (a worker's readiness checks did, in CI).
   */
  @Test
  void aRequestAfterOneThatWaitedBehindASlowCallIsAnswered() throws Exception {
    try (SimServer sim = SimServer.start(SLOW); TestGateway gateway = gatewayTo(sim)) {
      URI uri = URI.create(gateway.url("/"));
      for (int i = 0; i < 5; i++) {
        try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
          socket.setSoTimeout(10_000);
          // The chat call takes 100 ms; the models list queued behind it is answered at once.
          send(socket, CHAT_CALL + "GET /v1/models HTTP/1.1\r\nHost: x\r\n" + AUTH + "\r\n");
          String first = readResponses(socket.getInputStream(), 2);
          assertThat(first).as("connection " + i).startsWith("HTTP/1.1 200")
              .contains("chat.completion", "\"object\":\"list\"");
          send(socket, LIST_AND_CLOSE);
          String next = new String(socket.getInputStream().readAllBytes(),
              StandardCharsets.UTF_8);
          assertThat(next).as("connection " + i).startsWith("HTTP/1.1 200")
              .contains("\"id\":\"chat\"");
        }
      }
    }
  }

  /**
   * Regression (Reactor Netty 1.3.8): a request asking to close the connection, pipelined behind
   * a call still being answered, was never answered; on io_uring any pipelined one was. Both
   * answers come, in order, the second says {@code Connection: close}, the connection is closed
   * after it, and a request sent after the close is not carried out.
   */
  @Test
  void aPipelinedRequestThatClosesTheConnectionIsAnsweredAfterTheOneBeforeIt() throws Exception {
    try (SimServer sim = SimServer.start(SLOW); TestGateway gateway = gatewayTo(sim)) {
      URI uri = URI.create(gateway.url("/"));
      try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
        socket.setSoTimeout(10_000);
        send(socket, CHAT_CALL + LIST_AND_CLOSE + CHAT_CALL);
        String answers = new String(socket.getInputStream().readAllBytes(),
            StandardCharsets.UTF_8);
        assertThat(answers).startsWith("HTTP/1.1 200").contains("chat.completion");
        assertThat(answers.indexOf("HTTP/1.1", 1)).as("the second answer in: " + answers)
            .isPositive();
        String second = answers.substring(answers.indexOf("HTTP/1.1", 1));
        assertThat(second).startsWith("HTTP/1.1 200").contains("\"object\":\"list\"")
            .containsIgnoringCase("connection: close");
        assertThat(second.indexOf("HTTP/1.1", 1)).as("an answer after the close").isNegative();
      }
      assertThat(sim.stats().requests()).as("calls that reached the backend").isEqualTo(1);
    }
  }

  private static void send(Socket socket, String request) throws IOException {
    socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
  }

  /** Reads {@code count} whole responses, each with a Content-Length, off {@code in}. */
  private static String readResponses(InputStream in, int count) throws IOException {
    ByteArrayOutputStream read = new ByteArrayOutputStream();
    int done = 0;
    int start = 0;
    while (done < count) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after " + done + " responses: " + read);
      }
      read.write(b);
      String text = read.toString(StandardCharsets.UTF_8);
      int headersEnd = text.indexOf("\r\n\r\n", start);
      if (headersEnd < 0) {
        continue;
      }
      String headers = text.substring(start, headersEnd).toLowerCase(java.util.Locale.ROOT);
      int at = headers.indexOf("content-length:");
      int length = Integer.parseInt(headers.substring(at + 15, headers.indexOf('\r', at) < 0
          ? headers.length() : headers.indexOf('\r', at)).trim());
      if (read.size() >= headersEnd + 4 + length) {
        done++;
        start = headersEnd + 4 + length;
      }
    }
    return read.toString(StandardCharsets.UTF_8);
  }
}
