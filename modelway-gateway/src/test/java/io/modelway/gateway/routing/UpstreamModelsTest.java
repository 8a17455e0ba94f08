package io.modelway.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.modelway.backend.ConnectionPools;
import io.modelway.gateway.catalog.Catalog;
import io.modelway.gateway.catalog.ConfigLoader;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The backends' own model lists over real HTTP, with a clock the test moves. */
class UpstreamModelsTest {
  private static final ConnectionPools CONNECTIONS = ConnectionPools.create(8);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final TestClock clock = new TestClock();
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicInteger fetches = new AtomicInteger();
  private HttpServer upstream;
  private Catalog catalog;

  @BeforeEach
  void start() throws IOException {
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext("/v1/models", exchange -> {
      fetches.incrementAndGet();
      byte[] body = ("{\"object\":\"list\",\"data\":[{\"id\":\"m1\",\"object\":\"model\"},"
          + "{\"id\":\"m2\",\"object\":\"model\"}]}").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status.get(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    upstream.start();
    String yaml = """
        backends:
          up: {url: "http://127.0.0.1:%d/v1"}
        """.formatted(upstream.getAddress().getPort());
    catalog = Catalog.build(ConfigLoader.parse("test.yaml", yaml.getBytes(StandardCharsets.UTF_8)),
        name -> null, CONNECTIONS.clients());
  }

  @AfterEach
  void stop() {
    upstream.stop(0);
  }

  @AfterAll
  static void closePools() {
    CONNECTIONS.close();
  }

  private List<UpstreamModels.Listing> lists(UpstreamModels models) {
    return models.lists(catalog, WAIT).toCompletableFuture().join();
  }

  @Test
  void servesAFreshListThenTheStaleOneWhileOneFetchRefreshesIt() {
    UpstreamModels models = new UpstreamModels(clock);
    assertThat(lists(models)).containsExactly(
        new UpstreamModels.Listing("up", List.of("m1", "m2"), false));
    clock.advance(UpstreamModels.FRESH.minusSeconds(1));
    assertThat(lists(models)).extracting(UpstreamModels.Listing::stale).containsExactly(false);
    assertThat(fetches).hasValue(1);

    clock.advance(Duration.ofSeconds(1));
    // Past its time: answered at once with the old list, marked stale, while one fetch runs.
    CompletableFuture<List<UpstreamModels.Listing>> stale =
        models.lists(catalog, WAIT).toCompletableFuture();
    assertThat(stale).isDone();
    assertThat(stale.join()).extracting(UpstreamModels.Listing::stale).containsExactly(true);
    await().atMost(WAIT).untilAsserted(() ->
        assertThat(lists(models)).extracting(UpstreamModels.Listing::stale).containsExactly(false));
    assertThat(fetches).hasValue(2);
  }

  @Test
  void aFailedFetchLeavesTheBackendOutAndIsRetriedOnlyAfterTheRetryInterval() {
    status.set(500);
    UpstreamModels models = new UpstreamModels(clock);
    assertThat(lists(models)).isEmpty();
    // No fetch under way to wait for: answered at once, still without the backend.
    CompletableFuture<List<UpstreamModels.Listing>> again =
        models.lists(catalog, WAIT).toCompletableFuture();
    assertThat(again).isDone();
    assertThat(again.join()).isEmpty();
    assertThat(fetches).hasValue(1);

    status.set(200);
    clock.advance(UpstreamModels.RETRY);
    assertThat(lists(models)).containsExactly(
        new UpstreamModels.Listing("up", List.of("m1", "m2"), false));
    assertThat(fetches).hasValue(2);
  }

  @Test
  void keepsTheLastListMarkedStaleWhileRefreshesFail() {
    UpstreamModels models = new UpstreamModels(clock);
    UpstreamModels.Listing fresh = new UpstreamModels.Listing("up", List.of("m1", "m2"), false);
    UpstreamModels.Listing stale = new UpstreamModels.Listing("up", List.of("m1", "m2"), true);
    assertThat(lists(models)).containsExactly(fresh);
    status.set(503);
    clock.advance(UpstreamModels.FRESH);
    assertThat(lists(models)).containsExactly(stale); // and a refresh starts, which fails
    await().atMost(WAIT).until(() -> fetches.get() == 2);
    assertThat(lists(models)).containsExactly(stale);
    status.set(200);
    // Each round moves past the retry interval, so the next fetch may start.
    await().atMost(WAIT).untilAsserted(() -> {
      clock.advance(UpstreamModels.RETRY);
      assertThat(lists(models)).containsExactly(fresh);
    });
  }

  @Test
  void aFirstFetchSlowerThanTheWaitIsLeftOutOfThatListing() {
    UpstreamModels models = new UpstreamModels(clock);
    upstream.stop(0); // nothing answers; the connection is refused
    assertThat(models.lists(catalog, Duration.ofMillis(1)).toCompletableFuture().join())
        .isEmpty();
  }
}
