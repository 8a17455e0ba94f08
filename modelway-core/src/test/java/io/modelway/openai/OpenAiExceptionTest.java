package io.modelway.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiExceptionTest {

  @Test
  void writesTheOpenAiErrorShapeWithNulls() {
    String json = new String(
        OpenAiException.invalidRequest("bad \"x\"", null).toJson(), StandardCharsets.UTF_8);
    assertThat(json).isEqualTo(
        "{\"error\":{\"message\":\"bad \\\"x\\\"\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
  }

  @Test
  void anUnreachableBackendIsNamedWithoutItsAddress() {
    java.net.ConnectException cause =
        new java.net.ConnectException("Connection refused: /10.1.2.3:8000");
    OpenAiException e = OpenAiException.upstreamUnreachable("vllm", cause);
    assertThat(e.status()).isEqualTo(502);
    assertThat(e.getMessage()).contains("vllm", "ConnectException").doesNotContain("10.1.2.3");
    assertThat(e.getCause()).isSameAs(cause);
  }

  @Test
  void relaysAnUpstreamOpenAiErrorWithItsStatus() {
    byte[] body = "{\"error\":{\"message\":\"Rate limit\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}"
        .getBytes(StandardCharsets.UTF_8);
    OpenAiException e = OpenAiException.relayed("openai", 429, body, "7");
    assertThat(e.status()).isEqualTo(429);
    assertThat(e.getMessage()).isEqualTo("Rate limit");
    assertThat(e.type()).isEqualTo("requests");
    assertThat(e.code()).isEqualTo("rate_limit_exceeded");
    assertThat(e.retryAfter()).contains("7");
  }

  @Test
  void wrapsAnUpstreamErrorThatIsNotJson() {
    OpenAiException e = OpenAiException.relayed(
        "vllm", 503, "<html>Service Unavailable</html>".getBytes(StandardCharsets.UTF_8), null);
    assertThat(e.status()).isEqualTo(503);
    assertThat(e.type()).isEqualTo("upstream_error");
    assertThat(e.getMessage()).contains("vllm", "503", "Service Unavailable");
  }

  @Test
  void formatsAStreamErrorAsOneEvent() {
    String event = new String(
        OpenAiException.upstreamTimeout("b", "total 1s").toSseEvent(), StandardCharsets.UTF_8);
    assertThat(event).startsWith("data: {\"error\":{").endsWith("}}\n\n");
  }
}
