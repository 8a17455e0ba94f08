package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A fuzz suite that stays in the build (issue 13, item 14): a seeded generator of malformed and
 * hostile requests — JSON and byte mutations of valid {@code /v1} bodies, odd headers, admin
 * bodies, path ids and queries, mangled paths — sent one after another to a real gateway with a
 * real client. Every answer must come within {@link #DEADLINE}, never be a 5xx, and every error
 * must be an OpenAI error body; afterwards the gateway must still be healthy and serve a call.
 * Raw-socket framing mutations (another part of the HTTP codec's work) are held to no 5xx and no
 * hang only, with no look at their bodies.
 *
 * <p>Reproducible: the build runs the fixed seed {@value #BUILD_SEED}, so a green build stays
 * green; {@code -Dmodelway.fuzz.seed=random} explores with a new seed, which is printed and
 * named in a failure, and {@code -Dmodelway.fuzz.seed=N} replays it. {@code
 * -Dmodelway.fuzz.requests=N} changes the size (default {@value #DEFAULT_REQUESTS}). A seed that
 * finds a defect is kept as a regression test of its own (see ActuatorAccessTest).
 */
class HostileRequestsFuzzTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final int DEFAULT_REQUESTS = 3000;
  /** The seed of the build's run: explorations with other seeds passed 27,000 requests. */
  private static final long BUILD_SEED = 8124100628400969178L;
  private static final int FRAMING_CASES = 60;
  private static final Duration DEADLINE = Duration.ofSeconds(10);
  private static final String MARK = "\u0001mark\u0001";
  /**
   * Answered by the HTTP codec before any route (a request line or headers too long): held to
   * no 5xx and no hang, their bodies being the codec's error handling's business.
   */
  private static final java.util.Set<Integer> CODEC_STATUSES = java.util.Set.of(414, 431);

  private static final List<String> VALID_V1 = List.of(
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
          + "{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0,\"max_tokens\":8,"
          + "\"stream\":false,\"stop\":[\"x\"],\"logit_bias\":{\"1\":0.5},\"user\":\"u\"}",
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
          + "\"text\":\"hi\"}]}],\"stream\":true,\"stream_options\":{\"include_usage\":true},"
          + "\"seed\":7,\"n\":1}",
      "{\"model\":\"chat\",\"prompt\":\"Once upon\",\"max_tokens\":4,\"top_p\":0.9}",
      "{\"model\":\"chat\",\"input\":[\"a\",\"b\"],\"encoding_format\":\"float\"}");
  private static final List<String> V1_PATHS = List.of("/v1/chat/completions",
      "/v1/chat/completions", "/v1/completions", "/v1/embeddings");

  /** Values that are wrong, extreme or hostile somewhere, as raw JSON. */
  private static final List<String> HOSTILE = List.of("null", "true", "false", "0", "-0", "-1",
      "1e400", "-1e400", "1e-400", "1.7976931348623157e309", "1e999999999", "-1e-999999999",
      "123456789012345678901234567890", "0.1000000000000000000001", "2147483648",
      "9223372036854775808", "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"a\\udc00b\"",
      "\"\\ud83d\\ude00\"", "\"\\u202e\"", "\"../../etc/passwd\"", "\"%2e%2e\"",
      "\"" + "x".repeat(201) + "\"", "\"" + "y".repeat(5000) + "\"",
      "\"" + "z".repeat(100_000) + "\"", "[]", "{}", "[null]", "[[[]]]", "{\"a\":{}}",
      "[\"chat\",\"chat\"]", "\"chat\"", "\"admin\"", "\"1h\"", "\"-5s\"", "\"P1D\"",
      "\"USD\"", "\"usd\"", "\"always\"", "[" .repeat(600) + "]".repeat(600),
      "{\"a\":".repeat(300) + "1" + "}".repeat(300));

  private static final List<String> CONTENT_TYPES = List.of("application/json",
      "application/json; charset=utf-8", "application/json; charset=latin1",
      "application/json; charset=nope", "application/json, text/plain", ";;;",
      "application/json; boundary=", "application/", "/", "*/*", "text/plain", "application/xml",
      "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
      "text/event-stream", "application/json;;", "application/json; q=0.5", "APPLICATION/JSON",
      "application/problem+json", "application/json; charset=\"utf-8\"", "a/b/c", "json");

  private record Admin(String method, String path, @Nullable String body) {}

  private static SimServer sim;
  private static TestGateway gateway;
  private static String checkKey;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim, cache: {mode: always}}
        """.formatted(sim.baseUrl()), Map.of());
    // A tenant and key no generated request names: the call that proves health afterwards.
    assertThat(gateway.post("/admin/v1/tenants", "{\"id\":\"fuzz-check\"}").statusCode())
        .isEqualTo(201);
    checkKey = JSON.readTree(gateway.post("/admin/v1/keys", "{\"tenant\":\"fuzz-check\"}")
        .body()).path("key").asString();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  /** One generated request. */
  private record Probe(String what, String method, String path, Map<String, String> headers,
      byte @Nullable [] body) {}

  @Test
  void hostileRequestsGetA4xxInShapeNeverA5xxOrAHangAndLeaveTheGatewayHealthy() {
    String asked = System.getProperty("modelway.fuzz.seed", Long.toString(BUILD_SEED));
    long seed = asked.equals("random") ? new SecureRandom().nextLong() : Long.parseLong(asked);
    int requests = Integer.getInteger("modelway.fuzz.requests", DEFAULT_REQUESTS);
    System.out.println("HostileRequestsFuzzTest: seed " + seed + ", " + requests + " requests");
    Random random = new Random(seed);
    List<String> failures = new ArrayList<>();
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    int sent = 0;
    for (int i = 0; i < requests; i++) {
      int kind = random.nextInt(100);
      Probe probe = kind < 30 ? jsonMutation(random) : kind < 42 ? byteMutation(random)
          : kind < 57 ? headerMutation(random) : kind < 85 ? adminMutation(random)
          : pathMutation(random);
      String problem = send(probe, statuses);
      if (problem != null) {
        failures.add("#" + i + " " + probe.method() + " " + abbreviate(probe.path()) + " ("
            + probe.what() + "): " + problem);
      }
      sent++;
    }
    for (int i = 0; i < FRAMING_CASES; i++) {
      String problem = framing(random, i);
      if (problem != null) {
        failures.add("framing #" + i + ": " + problem);
      }
    }
    failures.addAll(healthProblems());
    System.out.println("HostileRequestsFuzzTest: answers by status " + statuses);
    assertThat(sent).isEqualTo(requests);
    assertThat(failures).as("seed " + seed + " (replay: -Dmodelway.fuzz.seed=" + seed + ")")
        .isEmpty();
  }

  // --- generators ---------------------------------------------------------------------------

  private static Probe jsonMutation(Random random) {
    int which = random.nextInt(VALID_V1.size());
    String body = mutateJson(random, VALID_V1.get(which));
    return new Probe("json", "POST", V1_PATHS.get(which), json(), bytes(body));
  }

  private static Probe byteMutation(Random random) {
    int which = random.nextInt(VALID_V1.size());
    byte[] body = VALID_V1.get(which).getBytes(StandardCharsets.UTF_8);
    int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits; e++) {
      body = mutateBytes(random, body);
    }
    return new Probe("bytes", "POST", V1_PATHS.get(which), json(), body);
  }

  private static Probe headerMutation(Random random) {
    int which = random.nextInt(VALID_V1.size());
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", pick(random, CONTENT_TYPES));
    String authorization = switch (random.nextInt(8)) {
      case 0 -> null;
      case 1 -> "Bearer";
      case 2 -> "Bearer  " + TestGateway.KEY;
      case 3 -> "bearer " + TestGateway.KEY;
      case 4 -> "Basic " + TestGateway.KEY;
      case 5 -> "Bearer " + "k".repeat(random.nextInt(3000));
      case 6 -> "Bearer eyJhbGciOiJub25lIn0." + "e".repeat(random.nextInt(50)) + ".";
      default -> "Bearer " + TestGateway.KEY;
    };
    if (authorization != null) {
      headers.put("Authorization", authorization);
    }
    switch (random.nextInt(6)) {
      case 0 -> headers.put("Accept", pick(random, List.of("text/event-stream", "*/*",
          "application/xml", "garbage", ";;", "application/json;q=0")));
      case 1 -> headers.put("x-request-id", pick(random, List.of("", "x".repeat(3000),
          "a b", "\u00e9t\u00e9", "../..", "%00", "id,other")));
      case 2 -> headers.put("traceparent", pick(random, List.of("00-zz-zz-01", "",
          "00-" + "0".repeat(32) + "-" + "0".repeat(16) + "-01", "ff-" + "a".repeat(200))));
      case 3 -> headers.put("x-session-id", "s".repeat(random.nextInt(3000)));
      case 4 -> headers.put("Accept-Encoding", pick(random, List.of("gzip", "br, zstd", "*",
          "identity;q=0")));
      default -> { }
    }
    return new Probe("headers", "POST", V1_PATHS.get(which), headers,
        bytes(VALID_V1.get(which)));
  }

  private static List<Admin> adminCalls(Random random) {
    String id = "f-" + Integer.toString(random.nextInt(1000), 36);
    String plan = "{\"id\":\"" + id + "\",\"requests_per_minute\":100,\"models\":[\"chat\"],"
        + "\"model_limits\":{\"chat\":{\"max_concurrent\":2}},\"priority\":\"standard\","
        + "\"weight\":1,\"monthly_budget\":10.5,\"budget_currency\":\"USD\","
        + "\"cache\":{\"mode\":\"always\",\"semantic\":false}}";
    return List.of(
        new Admin("POST", "/admin/v1/tenants", "{\"id\":\"" + id + "\",\"name\":\"Fuzz\","
            + "\"plan\":null}"),
        new Admin("PATCH", "/admin/v1/tenants/{id}", "{\"plan\":null}"),
        new Admin("POST", "/admin/v1/keys", "{\"tenant\":\"" + id + "\",\"name\":\"k\","
            + "\"role\":\"member\",\"project\":\"p\",\"models\":[\"chat\"],"
            + "\"expires_in\":\"1h\"}"),
        new Admin("PATCH", "/admin/v1/keys/{id}", "{\"plan\":null}"),
        new Admin("POST", "/admin/v1/keys/{id}/revoke", null),
        new Admin("POST", "/admin/v1/keys/{id}/rotate", "{\"grace\":\"1h\"}"),
        new Admin("POST", "/admin/v1/plans", plan),
        new Admin("PUT", "/admin/v1/plans/{id}", plan),
        new Admin("DELETE", "/admin/v1/plans/{id}", null),
        new Admin("PUT", "/admin/v1/prices/{id}", "{\"currency\":\"USD\",\"input\":1.5,"
            + "\"cached_input\":0.5,\"output\":2}"),
        new Admin("DELETE", "/admin/v1/prices/{id}", null),
        new Admin("PUT", "/admin/v1/aliases/{id}", "{\"targets\":[{\"model\":\"chat\","
            + "\"weight\":1}],\"sticky\":\"none\",\"session_header\":\"x-session-id\"}"),
        new Admin("DELETE", "/admin/v1/aliases/{id}", null),
        new Admin("PUT", "/admin/v1/cache/namespaces/{id}", "{\"namespace\":\"shared-1\"}"),
        new Admin("DELETE", "/admin/v1/cache/namespaces/{id}", null),
        new Admin("DELETE", "/admin/v1/cache?tenant={q}&model={q}&key={q}", null),
        new Admin("GET", "/admin/v1/usage?tenant={q}&key={q}&model={q}&request_id={q}"
            + "&from={q}&to={q}&limit={q}&format={q}", null),
        new Admin("GET", "/admin/v1/audit?limit={q}", null),
        new Admin("GET", "/admin/v1/keys?tenant={q}", null),
        new Admin("GET", "/admin/v1/plans/{id}", null),
        new Admin("GET", "/admin/v1/aliases/{id}", null),
        new Admin("GET", "/admin/v1/models/{id}", null),
        new Admin("DELETE", "/admin/v1/models/{id}", null),
        new Admin("GET", "/admin/v1/instances", null),
        new Admin("GET", "/admin/v1/tenants", null));
  }

  private static Probe adminMutation(Random random) {
    Admin call = pick(random, adminCalls(random));
    String path = call.path();
    while (path.contains("{id}")) {
      path = path.replaceFirst("\\{id}", random.nextInt(3) == 0
          ? "f-" + random.nextInt(100) : hostileSegment(random));
    }
    while (path.contains("{q}")) {
      path = path.replaceFirst("\\{q}", random.nextInt(3) == 0 ? "x" : hostileSegment(random));
    }
    String body = call.body();
    if (body != null && random.nextInt(8) != 0) {
      body = mutateJson(random, body);
    }
    Map<String, String> headers = random.nextInt(10) == 0
        ? Map.of("Content-Type", pick(random, CONTENT_TYPES)) : json();
    return new Probe("admin", call.method(), path, headers, body == null ? null : bytes(body));
  }

  private static Probe pathMutation(Random random) {
    List<String> segments = List.of("v1", "admin", "v1", "actuator", "health", "prometheus",
        "models", "chat", "completions", "embeddings", "keys", "internal", "instances", "..",
        ".", "%2e%2e", "%2E", "%2F", "%5C", "%00", "%ff", "%c0%ae", "~", "*", "%20", "a;b",
        "x".repeat(300), "%F0%9F%98%80", "readiness", "liveness", "audit", "");
    StringBuilder path = new StringBuilder();
    int n = 1 + random.nextInt(6);
    for (int i = 0; i < n; i++) {
      path.append('/').append(pick(random, segments));
    }
    if (random.nextInt(3) == 0) {
      path.append('?').append(hostileSegment(random)).append('=').append(hostileSegment(random));
    }
    String method = pick(random, List.of("GET", "GET", "POST", "PUT", "DELETE", "PATCH",
        "OPTIONS"));
    byte[] body = method.equals("GET") || method.equals("OPTIONS") ? null
        : bytes(pick(random, List.of("{}", "null", "[]", "{\"model\":\"chat\"}", "x")));
    return new Probe("path", method, path.toString(), json(), body);
  }

  /** A path segment or query value: percent-encoded text that is odd in one way or another. */
  private static String hostileSegment(Random random) {
    String raw = switch (random.nextInt(10)) {
      case 0 -> "x".repeat(201 + random.nextInt(2000));
      case 1 -> "..";
      case 2 -> "\ud800";
      case 3 -> "\u0000";
      case 4 -> "a/b";
      case 5 -> "-1";
      case 6 -> "99999999999999999999";
      case 7 -> "2026-13-45T99:00:00Z";
      case 8 -> "\u00e9\ud83d\ude00";
      default -> "";
    };
    StringBuilder out = new StringBuilder();
    for (byte b : raw.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_') {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  /** {@code valid} with one to three JSON-level changes; the text may end up not JSON at all. */
  private static String mutateJson(Random random, String valid) {
    String text = valid;
    int edits = 1 + random.nextInt(3);
    for (int e = 0; e < edits; e++) {
      JsonNode tree;
      try {
        tree = JSON.readTree(text);
      } catch (RuntimeException notJson) {
        return text;
      }
      if (!(tree instanceof ObjectNode root)) {
        return text;
      }
      int change = random.nextInt(8);
      if (root.isEmpty() && change <= 5 && change != 4) {
        change = 4;
      }
      text = switch (change) {
        case 0, 1, 2 -> replaceSomewhere(random, root, pick(random, HOSTILE));
        case 3 -> {
          List<String> names = new ArrayList<>(root.propertyNames());
          root.remove(pick(random, names));
          yield root.toString();
        }
        case 4 -> {
          root.put("unknown_" + random.nextInt(10), MARK);
          yield root.toString().replace(quoted(MARK), pick(random, HOSTILE));
        }
        case 5 -> {
          // A key twice: the first one's value again, or a hostile one.
          String name = pick(random, new ArrayList<>(root.propertyNames()));
          yield "{\"" + name + "\":" + pick(random, HOSTILE) + "," + root.toString().substring(1);
        }
        case 6 -> text.substring(0, random.nextInt(text.length()));
        default -> pick(random, List.of("[" + text + "]", text + text, "\"" + text + "\"",
            text + " x", text.replace("\"", "'"), text.replace(":", "="), "", " "));
      };
    }
    return text;
  }

  /** {@code root} with a random node, at any depth, replaced by {@code rawJson}. */
  private static String replaceSomewhere(Random random, ObjectNode root, String rawJson) {
    List<Runnable> places = new ArrayList<>();
    collect(root, places);
    pick(random, places).run();
    return root.toString().replace(quoted(MARK), rawJson);
  }

  private static void collect(JsonNode node, List<Runnable> places) {
    if (node instanceof ObjectNode object) {
      for (String name : new ArrayList<>(object.propertyNames())) {
        places.add(() -> object.put(name, MARK));
        collect(object.get(name), places);
      }
    } else if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        int index = i;
        places.add(() -> array.set(index, array.textNode(MARK)));
        collect(array.get(i), places);
      }
    }
  }

  private static String quoted(String s) {
    return JSON.writeValueAsString(s);
  }

  private static byte[] mutateBytes(Random random, byte[] body) {
    if (body.length == 0) {
      return new byte[] {(byte) random.nextInt(256)};
    }
    int at = random.nextInt(body.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] specials = {0, (byte) 0xff, (byte) 0xc0, (byte) 0xed, (byte) 0x80, '"', '\\', '{',
        '}', '[', ']', ',', ':', '\n', 'e', '-', '.'};
    switch (random.nextInt(5)) {
      case 0 -> {
        byte[] copy = body.clone();
        copy[at] ^= (byte) (1 << random.nextInt(8));
        return copy;
      }
      case 1 -> {
        out.write(body, 0, at);
        out.write(specials[random.nextInt(specials.length)]);
        out.write(body, at, body.length - at);
      }
      case 2 -> {
        out.write(body, 0, at);
        out.write(body, at + 1, body.length - at - 1);
      }
      case 3 -> {
        int length = random.nextInt(body.length - at);
        out.write(body, 0, at + length);
        out.write(body, at, body.length - at);
      }
      default -> out.write(body, 0, at);
    }
    return out.toByteArray();
  }

  // --- sending and judging ------------------------------------------------------------------

  /** What is wrong with the gateway's answer to {@code probe}, or null. */
  private static @Nullable String send(Probe probe, Map<Integer, Integer> statuses) {
    HttpRequest request;
    try {
      HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(gateway.url(probe.path())))
          .timeout(DEADLINE)
          .method(probe.method(), probe.body() == null ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofByteArray(probe.body()));
      if (!probe.headers().containsKey("Authorization") && !probe.what().equals("headers")) {
        builder.header("Authorization", "Bearer " + TestGateway.KEY);
      }
      probe.headers().forEach(builder::header);
      request = builder.build();
    } catch (IllegalArgumentException unsendable) {
      return null; // java.net.http refuses to send it (a header value it will not write)
    }
    HttpResponse<String> response;
    try {
      response = TestGateway.client().sendAsync(request, HttpResponse.BodyHandlers.ofString())
          .get(DEADLINE.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      return "no answer within " + DEADLINE.toSeconds() + " s";
    } catch (ExecutionException e) {
      return "failed: " + e.getCause();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
    statuses.merge(response.statusCode(), 1, Integer::sum);
    return judge(response, probe.method());
  }

  private static @Nullable String judge(HttpResponse<String> response, String method) {
    int status = response.statusCode();
    if (status >= 500) {
      return status + " " + abbreviate(response.body());
    }
    if (status < 400 || method.equals("HEAD") || CODEC_STATUSES.contains(status)) {
      return null;
    }
    JsonNode error;
    try {
      error = JSON.readTree(response.body()).path("error");
    } catch (RuntimeException e) {
      return status + " with a body that is not JSON: " + abbreviate(response.body());
    }
    if (!error.path("message").isString() || !error.path("type").isString()
        || !error.has("param") || !error.has("code")) {
      return status + " with a body that is not an OpenAI error: " + abbreviate(response.body());
    }
    return null;
  }

  /**
   * A raw request with its framing mangled, written whole and the connection half-closed: the
   * gateway must answer or close within the deadline, and not with a 5xx.
   */
  private static @Nullable String framing(Random random, int index) {
    String body = VALID_V1.get(0);
    List<String> lines = new ArrayList<>(List.of("POST /v1/chat/completions HTTP/1.1",
        "Host: 127.0.0.1", "Authorization: Bearer " + TestGateway.KEY,
        "Content-Type: application/json",
        "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length, "Connection: close"));
    switch (random.nextInt(9)) {
      case 0 -> lines.add(1 + random.nextInt(lines.size() - 1), lines.get(4));
      case 1 -> lines.set(0, pick(random, List.of("POST /v1/chat/completions HTTP/9.9",
          "post /v1/chat/completions HTTP/1.1", "POST  /v1/chat/completions HTTP/1.1",
          "POST /v1/chat/completions", "POST /v1/chat/completions HTTP/1.0",
          "POST http://x/v1/chat/completions HTTP/1.1", "POST * HTTP/1.1")));
      case 2 -> lines.set(4, "Content-Length: " + pick(random, List.of("-1", "abc", "1e3",
          "99999999999999999999", "0", "5", " 12 ")));
      case 3 -> lines.add(1, "Transfer-Encoding: " + pick(random, List.of("chunked", "gzip",
          "chunked, identity", "x")));
      case 4 -> lines.add(1, pick(random, List.of("X-Bad : v", "NoColon", " folded: v",
          "X-Nul: a\u0000b", ": empty", "X-\u00e9: v")));
      case 5 -> lines.add(1, "X-Long: " + "v".repeat(random.nextInt(20_000)));
      case 6 -> lines.remove(1 + random.nextInt(lines.size() - 1));
      default -> { }
    }
    byte[] head = (String.join("\r\n", lines) + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    byte[] whole = new byte[head.length + body.length()];
    System.arraycopy(head, 0, whole, 0, head.length);
    System.arraycopy(bytes(body), 0, whole, head.length, body.length());
    if (random.nextBoolean()) {
      whole = mutateBytes(random, whole);
    }
    URI base = URI.create(gateway.url("/"));
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 5_000);
      socket.setSoTimeout((int) DEADLINE.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(whole);
      out.flush();
      socket.shutdownOutput();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      int n;
      while ((n = in.read(buffer)) >= 0) {
        answer.write(buffer, 0, n);
        if (System.nanoTime() > deadline) {
          return "still sending after " + DEADLINE.toSeconds() + " s";
        }
      }
      String text = answer.toString(StandardCharsets.ISO_8859_1);
      if (text.startsWith("HTTP/1.1 5") || text.startsWith("HTTP/1.0 5")) {
        return abbreviate(text.lines().findFirst().orElse(""));
      }
      return null;
    } catch (SocketTimeoutException e) {
      return "neither an answer nor a close within " + DEADLINE.toSeconds() + " s";
    } catch (IOException e) {
      return null; // the gateway reset the connection: no answer, and no hang
    }
  }

  /** The gateway after the storm: health UP, a valid call served, the admin API answering. */
  private static List<String> healthProblems() {
    List<String> problems = new ArrayList<>();
    HttpResponse<String> health = TestGateway.send(HttpRequest.newBuilder(
        URI.create(gateway.url("/actuator/health"))).build());
    if (health.statusCode() != 200 || !health.body().contains("\"UP\"")) {
      problems.add("health afterwards: " + health.statusCode() + " " + health.body());
    }
    HttpResponse<String> call = gateway.call("POST", "/v1/chat/completions", checkKey,
        "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"still there?\"}]}");
    if (call.statusCode() != 200) {
      problems.add("a call afterwards: " + call.statusCode() + " " + abbreviate(call.body()));
    }
    HttpResponse<String> admin = gateway.get("/admin/v1/tenants");
    if (admin.statusCode() != 200) {
      problems.add("the admin API afterwards: " + admin.statusCode());
    }
    return problems;
  }

  private static Map<String, String> json() {
    return Map.of("Content-Type", "application/json");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static <T> T pick(Random random, List<T> list) {
    return list.get(random.nextInt(list.size()));
  }

  private static String abbreviate(String s) {
    return s.length() > 160 ? s.substring(0, 160) + "…" : s;
  }
}
