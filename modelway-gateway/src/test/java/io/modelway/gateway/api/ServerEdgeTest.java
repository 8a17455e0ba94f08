package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP server's edges under the floods of issue 13 item 6, scaled to a test: thousands of
 * connections that send nothing, or a request's head or body that never ends. Calls keep being
 * answered, the flood's connections are closed by the cap and the timeouts, and the process stays
 * healthy. (Regression: 20,000 idle connections took every file descriptor of the gateway.)
 */
class ServerEdgeTest {
  private static final String CHAT =
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private final List<Socket> sockets = new ArrayList<>();
  private SimServer sim;
  private TestGateway gateway;

  private void start(String server) {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        gateway:
          server: %s
        backends:
          sim: {url: '%s'}
        models:
          - {name: chat, backend: sim}
        """.formatted(server, sim.baseUrl()), Map.of());
  }

  @AfterEach
  void stop() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  @Test
  void aFloodOfIdleConnectionsPastTheCapLeavesRoomForCallsAndIsClosedWhenIdle() throws Exception {
    start("{max-connections: 200, idle-timeout: 3s}");
    for (int i = 0; i < 1000; i++) {
      sockets.add(connect());
    }
    // The cap holds: the oldest idle connections were closed to make room for newer ones.
    await().atMost(Duration.ofSeconds(30))
        .until(() -> counter("modelway.http.connections.evicted") >= 800);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> gauge("modelway.http.connections") <= 200);
    for (int i = 0; i < 20; i++) {
      assertThat(chatOnNewConnection()).as("call " + i).startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
    // What is left of the flood goes once idle for 3 s; every flood socket then reads its end.
    await().atMost(Duration.ofSeconds(30)).until(() -> gauge("modelway.http.connections") == 0);
    for (Socket socket : sockets) {
      assertThat(readToEnd(socket)).isEmpty();
    }
    assertThat(gateway.get("/actuator/health").statusCode()).isEqualTo(200);
  }

  @Test
  void slowHeadsAndSlowBodiesAreClosedByTheirTimeoutsWhileCallsGoOn() throws Exception {
    // An idle timeout far longer than the test: only the head and body deadlines close these.
    start("{idle-timeout: 10m, request-head-timeout: 2s, request-body-timeout: 2s}");
    List<Socket> heads = new ArrayList<>();
    List<Socket> bodies = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      Socket head = connect();
      send(head, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: app");
      heads.add(head);
      // On the data plane and on a WebFlux route (the admin API) alike.
      Socket body = connect();
      send(body, "POST " + (i % 2 == 0 ? "/v1/chat/completions" : "/admin/v1/tenants")
          + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + TestGateway.KEY + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
          + "{\"model\":\"chat\",");
      bodies.add(body);
    }
    for (int i = 0; i < 20; i++) {
      assertThat(chatOnNewConnection()).as("call " + i).startsWith("HTTP/1.1 200")
          .contains("chat.completion");
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> gauge("modelway.http.connections") == 0);
    for (Socket socket : heads) {
      assertThat(readToEnd(socket)).startsWith("HTTP/1.1 408")
          .contains("\"code\":\"request_timeout\"", "\"type\":\"invalid_request_error\"");
    }
    for (Socket socket : bodies) {
      assertThat(readToEnd(socket)).doesNotStartWith("HTTP/1.1 2");
    }
    assertThat(counter("modelway.http.request.head.timeouts")).isEqualTo(1000);
    assertThat(gateway.get("/actuator/health").statusCode()).isEqualTo(200);
    assertThat(chatOnNewConnection()).startsWith("HTTP/1.1 200");
  }

  @Test
  void whenEveryConnectionHasARequestInProgressANewOneIsClosedAtOnce() throws Exception {
    start("{max-connections: 50, request-body-timeout: 10m}");
    for (int i = 0; i < 50; i++) {
      // On the data plane and on a WebFlux route (the admin API) alike.
      Socket body = connect();
      send(body, "POST " + (i % 2 == 0 ? "/v1/chat/completions" : "/admin/v1/tenants")
          + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + TestGateway.KEY + "\r\nContent-Length: 100\r\n\r\n{");
      sockets.add(body);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> gauge("modelway.http.connections") == 50);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (Socket refused = new Socket()) {
        refused.connect(address(), 5_000);
        return readToEnd(refused).isEmpty();
      }
    });
    assertThat(counter("modelway.http.connections.refused")).isPositive();
    assertThat(counter("modelway.http.connections.evicted")).isZero();
  }

  @Test
  void theDefaultCapKeepsAReserveOfTheOpenFileLimit() {
    assertThat(ServerEdge.defaultMaxConnections(OptionalLong.of(20_000))).isEqualTo(9_488);
    assertThat(ServerEdge.defaultMaxConnections(OptionalLong.of(1_048_576))).isEqualTo(523_776);
    assertThat(ServerEdge.defaultMaxConnections(OptionalLong.of(1_024))).isEqualTo(384);
    assertThat(ServerEdge.defaultMaxConnections(OptionalLong.empty())).isEqualTo(10_000);
  }

  private InetSocketAddress address() {
    URI uri = URI.create(gateway.url("/"));
    return new InetSocketAddress(uri.getHost(), uri.getPort());
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(address(), 10_000);
    sockets.add(socket);
    return socket;
  }

  /** A chat call on a connection of its own, as raw HTTP/1.1; the whole answer. */
  private String chatOnNewConnection() throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(address(), 10_000);
      socket.setSoTimeout(20_000);
      send(socket, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + TestGateway.KEY + "\r\nContent-Type: application/json\r\nConnection: close\r\n"
          + "Content-Length: " + CHAT.length() + "\r\n\r\n" + CHAT);
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void send(Socket socket, String data) throws IOException {
    socket.getOutputStream().write(data.getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
  }

  /** What the server sent until it closed the connection (a reset counts as a close). */
  private static String readToEnd(Socket socket) throws IOException {
    socket.setSoTimeout(10_000);
    StringBuilder out = new StringBuilder();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[4096];
    try {
      for (int n; (n = in.read(buffer)) != -1; ) {
        out.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the server did not close the connection; it sent: " + out);
    } catch (SocketException e) {
      // reset: closed
    }
    return out.toString();
  }

  private double gauge(String name) {
    return gateway.bean(MeterRegistry.class).get(name).gauge().value();
  }

  private double counter(String name) {
    return gateway.bean(MeterRegistry.class).get(name).counter().count();
  }
}
