package io.modelway.gateway.registry;

import static java.util.Objects.requireNonNull;

import io.modelway.runtime.ModelHost;
import io.modelway.runtime.ModelRuntime;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A worker's side of the registry: registers with the gateway, heartbeats with its models and
 * load at the interval the gateway asks for (a third of the lease), at once when a model changes
 * state, and deregisters on {@link #close()}. A heartbeat is a full registration, so after a
 * gateway restart the worker is back on its next beat. A gateway that cannot be reached is
 * retried every second and logged once per outage; the worker keeps serving meanwhile (fails
 * open: clients that call it directly are not affected by the gateway being away).
 *
 * <p>Runs on one thread of its own; blocking HTTP is fine there.
 */
public final class RegistrationAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RegistrationAgent.class);
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Duration RETRY = Duration.ofSeconds(1);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private final URI instanceUrl;
  private final String authorization;
  private final String id;
  private final URI advertise;
  private final ModelHost models;
  private final HttpClient http;
  private final ScheduledExecutorService thread;
  private @Nullable ScheduledFuture<?> next;
  private Duration interval = Duration.ofSeconds(3);
  private boolean registered;
  private boolean failing;
  private long lastTokens = -1;
  private long lastBeatNanos;

  /**
   * @param gateway the gateway's base URL, such as {@code http://gateway:8080}
   * @param secret the cluster secret ({@code MODELWAY_CLUSTER_SECRET})
   * @param id this worker's id, stable for the life of the process
   * @param advertise the base URL the gateway calls this worker at
   */
  public RegistrationAgent(URI gateway, String secret, String id, URI advertise, ModelHost models) {
    requireNonNull(gateway, "gateway");
    this.authorization = "Bearer " + requireNonNull(secret, "secret");
    this.id = requireNonNull(id, "id");
    this.advertise = requireNonNull(advertise, "advertise");
    this.models = requireNonNull(models, "models");
    String base = gateway.toString().endsWith("/") ? gateway.toString() : gateway + "/";
    this.instanceUrl = URI.create(base).resolve("internal/v1/instances/" + id);
    this.http = HttpClient.newBuilder().connectTimeout(CALL_TIMEOUT).build();
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "registration");
      t.setDaemon(true);
      return t;
    });
  }

  /** Registers now, then keeps heartbeating until {@link #close()}. */
  public void start() {
    models.addListener(status -> thread.execute(this::beatNow));
    thread.execute(this::beatNow);
  }

  public String id() {
    return id;
  }

  private void beatNow() {
    if (next != null) {
      next.cancel(false);
    }
    Duration wait = beat() ? interval : RETRY;
    if (!thread.isShutdown()) {
      next = thread.schedule(this::beatNow, wait.toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /** Sends one heartbeat; whether the gateway took it. */
  private boolean beat() {
    HttpRequest request = HttpRequest.newBuilder(instanceUrl)
        .timeout(CALL_TIMEOUT)
        .header("Authorization", authorization)
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(report())))
        .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        fail("the gateway answered " + response.statusCode() + ": " + response.body());
        return false;
      }
      JsonNode lease = JSON.readTree(response.body());
      long ms = lease.path("heartbeat_interval_ms").asLong(3000);
      interval = Duration.ofMillis(Math.max(100, ms));
      if (!registered || failing) {
        log.info("Registered with the gateway at {} as {} (lease {} ms, heartbeat every {} ms)",
            instanceUrl.resolve("/"), id, lease.path("lease_ttl_ms").asLong(), interval.toMillis());
      }
      registered = true;
      failing = false;
      return true;
    } catch (IOException | RuntimeException e) {
      fail(e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void fail(String why) {
    if (!failing) {
      log.warn("Cannot register with the gateway at {}: {}; retrying every {} s",
          instanceUrl.resolve("/"), why, RETRY.toSeconds());
    }
    failing = true;
  }

  /** The registration body: address, models with their states, and the load summed over them. */
  ObjectNode report() {
    ObjectNode body = JSON.createObjectNode().put("address", advertise.toString());
    ArrayNode served = body.putArray("models");
    int inFlight = 0;
    int slots = 0;
    int free = 0;
    int queued = 0;
    long tokens = 0;
    for (ModelHost.Status status : models.statuses()) {
      served.addObject().put("id", status.name())
          .put("state", status.state().name().toLowerCase(Locale.ROOT));
      ModelRuntime.Load load = status.load();
      inFlight += status.inFlight();
      slots += load.slots();
      free += Math.max(0, load.slots() - load.busy());
      queued += load.queued();
      tokens += load.tokens();
    }
    long now = System.nanoTime();
    double perSecond = lastTokens < 0 || now == lastBeatNanos ? 0
        : Math.max(0, tokens - lastTokens) * 1e9 / (now - lastBeatNanos);
    lastTokens = tokens;
    lastBeatNanos = now;
    body.putObject("load")
        .put("in_flight", inFlight)
        .put("slots", slots)
        .put("free_slots", free)
        .put("queued", queued)
        .put("tokens_per_second", Math.round(perSecond * 10) / 10.0);
    return body;
  }

  /** Stops heartbeating without deregistering, as a frozen process would: the lease runs out. */
  void stopHeartbeats() {
    thread.shutdownNow();
    registered = false;
  }

  /** Stops heartbeating and deregisters, waiting up to 5 s for the gateway to take it. */
  @Override
  public void close() {
    thread.shutdownNow();
    if (!registered) {
      return;
    }
    try {
      HttpResponse<Void> response = http.send(HttpRequest.newBuilder(instanceUrl)
              .timeout(CALL_TIMEOUT).header("Authorization", authorization).DELETE().build(),
          HttpResponse.BodyHandlers.discarding());
      log.info("Deregistered from the gateway ({})", response.statusCode());
    } catch (IOException e) {
      log.warn("Could not deregister from the gateway: {}; its lease will run out", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
