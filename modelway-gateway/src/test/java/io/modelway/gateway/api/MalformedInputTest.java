package io.modelway.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.TestGateway;
import io.modelway.sim.SimOptions;
import io.modelway.sim.SimServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Hundreds of generated bad requests: each must get a 4xx with an OpenAI error body, never a 5xx
 * and never a success.
 */
class MalformedInputTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Map<String, String> VALID = Map.of(
      "/v1/chat/completions",
      "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.5,\"max_tokens\":8,\"stream\":false}",
      "/v1/completions", "{\"model\":\"chat\",\"prompt\":\"Once upon\",\"max_tokens\":4,\"top_p\":0.9}",
      "/v1/embeddings", "{\"model\":\"chat\",\"input\":[\"a\",\"b\"],\"dimensions\":8}");

  /** Values that are wrong for each field, whatever the endpoint that knows it. */
  private static final Map<String, List<String>> WRONG = new LinkedHashMap<>();

  static {
    WRONG.put("model", List.of("null", "42", "true", "[]", "{}", "\"\"", "\"   \""));
    WRONG.put("messages", List.of("null", "\"hi\"", "42", "{}", "[]", "[1]", "[\"hi\"]", "[{}]",
        "[{\"role\":null}]", "[{\"role\":7}]", "[{\"role\":\"\"}]", "[{\"content\":\"no role\"}]"));
    WRONG.put("prompt", List.of("null", "42", "true", "{}"));
    WRONG.put("input", List.of("null", "42", "false", "{}"));
    WRONG.put("temperature", List.of("\"hot\"", "-0.1", "2.5", "[]", "true"));
    WRONG.put("top_p", List.of("\"x\"", "1.5", "-1", "{}"));
    WRONG.put("max_tokens", List.of("\"ten\"", "-1", "1.5", "1e400", "99999999999", "[]"));
    WRONG.put("max_completion_tokens", List.of("\"ten\"", "-5", "{}"));
    WRONG.put("n", List.of("0", "\"2\"", "2.5", "-3"));
    WRONG.put("stream", List.of("\"yes\"", "1", "[]", "{}"));
    WRONG.put("stream_options", List.of("\"x\"", "[]", "{\"include_usage\":\"yes\"}", "{\"include_usage\":1}"));
    WRONG.put("presence_penalty", List.of("3", "\"x\""));
    WRONG.put("frequency_penalty", List.of("-2.5", "[]"));
    WRONG.put("stop", List.of("42", "{}", "true"));
    WRONG.put("seed", List.of("\"s\"", "1.5"));
    WRONG.put("user", List.of("42", "[]"));
    WRONG.put("tools", List.of("\"t\"", "{}"));
    WRONG.put("response_format", List.of("\"json\"", "[]"));
    WRONG.put("dimensions", List.of("0", "\"8\"", "-4", "1.5"));
    WRONG.put("encoding_format", List.of("1", "[]"));
  }

  private static SimServer sim;
  private static TestGateway gateway;

  @BeforeAll
  static void start() {
    sim = SimServer.start(SimOptions.defaults());
    gateway = TestGateway.start("""
        gateway:
          max-request-body: 256KB
        backends:
          sim: {url: "%s"}
        models:
          - {name: chat, backend: sim}
        """.formatted(sim.baseUrl()), Map.of());
  }

  @AfterAll
  static void stop() {
    gateway.close();
    sim.close();
  }

  private record Case(String what, String path, String contentType, byte[] body) {}

  private static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    for (Map.Entry<String, String> valid : VALID.entrySet()) {
      String path = valid.getKey();
      String body = valid.getValue();
      JsonNode tree = JSON.readTree(body);
      // every truncation of a valid body
      for (int i = 0; i < body.length(); i++) {
        cases.add(json("truncated at " + i, path, body.substring(0, i)));
      }
      // every wrong value of every field the endpoint checks
      for (Map.Entry<String, List<String>> field : WRONG.entrySet()) {
        boolean applies = tree.has(field.getKey())
            || !List.of("messages", "prompt", "input", "dimensions", "encoding_format").contains(field.getKey());
        if (!applies || (path.endsWith("embeddings") && !tree.has(field.getKey()) && !field.getKey().equals("user"))) {
          continue;
        }
        for (String wrong : field.getValue()) {
          cases.add(json(field.getKey() + "=" + wrong, path, withField(tree, field.getKey(), wrong)));
        }
      }
      // required fields removed
      tree.properties().forEach(e -> {
        if (List.of("model", "messages", "prompt", "input").contains(e.getKey())) {
          cases.add(json("without " + e.getKey(), path, withoutField(tree, e.getKey())));
        }
      });
      // not one JSON object
      for (String notObject : List.of("", " ", "null", "[]", "[" + body + "]", "\"" + body.replace("\"", "'") + "\"",
          "42", body + body, body + " x", "{" + body + "}", body.replace("\"model\"", "model"),
          body.replace(":", "="), body.replace("\"", "'"), body.replace("{\"model\"", "{\"model\":\"chat\",\"model\""))) {
        cases.add(json("not an object: " + abbreviate(notObject), path, notObject));
      }
      // wrong content types
      for (String type : List.of("text/plain", "application/xml", "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x", "text/event-stream", "image/png")) {
        cases.add(new Case("content type " + type, path, type, body.getBytes(StandardCharsets.UTF_8)));
      }
      // bytes that are not UTF-8, control characters, nesting bombs, sizes
      byte[] bad = body.replace("\"chat\"", "\"ch\u0000t\"").getBytes(StandardCharsets.UTF_8);
      cases.add(new Case("NUL in a string", path, "application/json", bad));
      byte[] latin1 = body.replace("\"chat\"", "\"ch\u00e9t\"").getBytes(StandardCharsets.ISO_8859_1);
      cases.add(new Case("invalid UTF-8", path, "application/json", latin1));
      cases.add(json("deep nesting", path, body.replace("\"model\"", "\"deep\":" + "[".repeat(5000) + "]".repeat(5000) + ",\"model\"")));
      cases.add(json("huge body", path, body.replace("\"model\"", "\"pad\":\"" + "x".repeat(300_000) + "\",\"model\"")));
      cases.add(json("huge model name", path, body.replace("\"chat\"", "\"" + "m".repeat(100_000) + "\"")));
      cases.add(json("unknown model", path, body.replace("\"chat\"", "\"no-such-model\"")));
    }
    return cases;
  }

  @Test
  void everyBadRequestGetsA4xxInOpenAiShape() throws Exception {
    List<Case> cases = cases();
    assertThat(cases).hasSizeGreaterThan(300);
    List<String> failures = new ArrayList<>();
    for (Case c : cases) {
      HttpResponse<String> r = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(URI.create(gateway.url(c.path()))))
          .header("Content-Type", c.contentType())
          .POST(HttpRequest.BodyPublishers.ofByteArray(c.body())).build());
      String problem = problem(r);
      if (problem != null) {
        failures.add(c.path() + " " + c.what() + " → " + r.statusCode() + " " + abbreviate(r.body()) + ": " + problem);
      }
    }
    assertThat(failures).as("requests not answered with a 4xx OpenAI error").isEmpty();
  }

  /**
   * Bodies that are not one JSON object, on the admin API too: each gets a 400 whose message names
   * none of the JSON library's classes or settings (regression: "Trailing token
   * (`JsonToken.START_ARRAY`) found after value (bound as `tools.jackson.databind.JsonNode`): not
   * allowed as per `DeserializationFeature.FAIL_ON_TRAILING_TOKENS`").
   */
  @Test
  void aBodyThatIsNotJsonGetsA400ThatNamesNoLibrary() {
    List<String> failures = new ArrayList<>();
    for (String path : List.of("/admin/v1/tenants", "/admin/v1/keys", "/v1/chat/completions",
        "/v1/embeddings")) {
      for (String body : List.of("[1] [2]", "{} {}", "{\"a\":1} x", "{\"a\":1}}", "{\"a\":",
          "{\"a\":" + "[".repeat(2000) + "]".repeat(2000) + "}", "{'a':1}", "{\"a\":\"\u0000\"}",
          "{\"a\" 1}", "nul", "{\"a\":1,}", "{\"a\":01}", "{\"a\":NaN}")) {
        HttpResponse<String> r = gateway.post(path, body);
        String problem = problem(r);
        if (problem == null && r.statusCode() != 400) {
          problem = "status is not 400";
        }
        if (problem != null) {
          failures.add(path + " " + abbreviate(body) + " → " + r.statusCode() + " "
              + abbreviate(r.body()) + ": " + problem);
        }
      }
    }
    assertThat(failures).as("bodies not answered with a 400 OpenAI error in plain words").isEmpty();
  }

  /**
   * Requests Netty's HTTP codec refuses before any route sees them get their status and an
   * OpenAI error body, on every kind of path (regression: 157 of them came back with an empty
   * body).
   */
  @Test
  void everyRequestTheHttpCodecRefusesGetsItsStatusWithAnOpenAiBody() throws Exception {
    String auth = "Authorization: Bearer " + TestGateway.KEY + "\r\n";
    Map<String, String> statusOf = new LinkedHashMap<>();
    for (String path : List.of("/v1/chat/completions", "/v1/models", "/admin/v1/tenants",
        "/actuator/health")) {
      String post = "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + auth
          + "Content-Type: application/json\r\n";
      statusOf.put(post + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n", "400");
      statusOf.put(post + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", "400");
      statusOf.put(post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", "400");
      statusOf.put(post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400");
      statusOf.put(post + "Content-Length: -1\r\n\r\n", "400");
      statusOf.put("GET " + path + "?q=" + "a".repeat(4096) + " HTTP/1.1\r\nHost: x\r\n" + auth
          + "\r\n", "414");
      statusOf.put("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + auth + "X-Big: "
          + "b".repeat(8192) + "\r\n\r\n", "431");
    }
    URI uri = URI.create(gateway.url("/"));
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, String> c : statusOf.entrySet()) {
      String answer;
      try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(c.getKey().getBytes(StandardCharsets.ISO_8859_1));
        answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      }
      String what = abbreviate(c.getKey().replace("\r\n", "|"));
      int split = answer.indexOf("\r\n\r\n");
      if (!answer.startsWith("HTTP/1.1 " + c.getValue() + " ") || split < 0) {
        failures.add(what + " → " + abbreviate(answer) + ": not a " + c.getValue());
        continue;
      }
      String body = answer.substring(split + 4);
      String problem = errorProblem(body);
      if (problem != null || !answer.toLowerCase(java.util.Locale.ROOT)
          .contains("content-type: application/json")) {
        failures.add(what + " → " + abbreviate(answer) + ": " + problem);
      }
    }
    assertThat(failures).as("codec refusals without an OpenAI error body").isEmpty();
  }

  private static String problem(HttpResponse<String> r) {
    if (r.statusCode() < 400 || r.statusCode() >= 500) {
      return "status is not 4xx";
    }
    return errorProblem(r.body());
  }

  /** What is wrong with {@code body} as an OpenAI error that names no library; null: nothing. */
  private static String errorProblem(String body) {
    JsonNode error;
    try {
      error = JSON.readTree(body).path("error");
    } catch (RuntimeException e) {
      return "body is not JSON";
    }
    if (!error.path("message").isString() || !error.path("type").isString()
        || !error.has("param") || !error.has("code")) {
      return "body is not an OpenAI error";
    }
    String message = error.path("message").asString();
    for (String internal : List.of("jackson", "Jackson", "`", "Feature", "JsonToken",
        "Constraints", "io.netty", "reactor.", "Exception", "java.")) {
      if (message.contains(internal)) {
        return "the message names a library's internals (" + internal + ")";
      }
    }
    return null;
  }

  private static Case json(String what, String path, String body) {
    return new Case(what, path, "application/json", body.getBytes(StandardCharsets.UTF_8));
  }

  private static String withField(JsonNode tree, String field, String rawValue) {
    StringBuilder out = new StringBuilder("{");
    boolean replaced = false;
    for (Map.Entry<String, JsonNode> e : tree.properties()) {
      if (out.length() > 1) {
        out.append(',');
      }
      out.append('"').append(e.getKey()).append("\":");
      if (e.getKey().equals(field)) {
        out.append(rawValue);
        replaced = true;
      } else {
        out.append(e.getValue().toString());
      }
    }
    if (!replaced) {
      out.append(",\"").append(field).append("\":").append(rawValue);
    }
    return out.append('}').toString();
  }

  private static String withoutField(JsonNode tree, String field) {
    StringBuilder out = new StringBuilder("{");
    for (Map.Entry<String, JsonNode> e : tree.properties()) {
      if (e.getKey().equals(field)) {
        continue;
      }
      if (out.length() > 1) {
        out.append(',');
      }
      out.append('"').append(e.getKey()).append("\":").append(e.getValue().toString());
    }
    return out.append('}').toString();
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }
}
