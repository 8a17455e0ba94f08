package io.modelway.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/** A gateway started with no config at all. */
@ExtendWith(OutputCaptureExtension.class)
class EmptyStartTest {

  @Test
  void servesAnEmptyModelListAndSaysHowToAddAModel(@TempDir Path dir, CapturedOutput output) {
    try (ConfigurableApplicationContext context = GatewayRole.start(
        GatewayOptions.of(dir).withEnvironment(Map.of("MODELWAY_ADMIN_KEY", TestGateway.KEY)::get))) {
      HttpResponse<String> models = TestGateway.send(TestGateway.authorized(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + GatewayRole.port(context) + "/v1/models"))).build());
      assertThat(models.statusCode()).isEqualTo(200);
      assertThat(models.body()).isEqualTo("{\"object\":\"list\",\"data\":[]}");
      assertThat(output.getAll()).contains("No models configured yet", "--upstream NAME=BASE_URL", "--config FILE");
    }
  }
}
