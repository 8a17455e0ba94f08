package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelway.gateway.GatewayOptions;
import io.modelway.gateway.GatewayRole;
import io.modelway.gateway.TestGateway;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/** Without MODELWAY_ADMIN_KEY, {@code up} makes its own admin key, once. */
@ExtendWith(OutputCaptureExtension.class)
class AdminKeyBootstrapTest {

  @Test
  void upCreatesAnAdminKeyAtFirstStartAndPrintsItOnce(@TempDir Path dir, CapturedOutput output) {
    Pattern printed = Pattern.compile("^ {4}(mw-[0-9A-Za-z]{32})$", Pattern.MULTILINE);
    GatewayOptions options = GatewayOptions.of(dir).withEnvironment(name -> null);
    String secret;
    try (ConfigurableApplicationContext first = GatewayRole.start(options)) {
      Matcher m = printed.matcher(output.getOut());
      assertThat(m.find()).as("the key is printed").isTrue();
      secret = m.group(1);
      HttpResponse<String> models = TestGateway.send(HttpRequest.newBuilder(URI.create(
              "http://127.0.0.1:" + GatewayRole.port(first) + "/v1/models"))
          .header("Authorization", "Bearer " + secret).build());
      assertThat(models.statusCode()).isEqualTo(200);
    }
    int printedBefore = output.getOut().split("mw-", -1).length;
    try (ConfigurableApplicationContext second = GatewayRole.start(options)) {
      assertThat(output.getOut().split("mw-", -1).length).isEqualTo(printedBefore);
      HttpResponse<String> admin = TestGateway.send(HttpRequest.newBuilder(URI.create(
              "http://127.0.0.1:" + GatewayRole.port(second) + "/admin/v1/instances"))
          .header("Authorization", "Bearer " + secret).build());
      assertThat(admin.statusCode()).isEqualTo(200);
    }
    assertThat(output.getAll().split(secret, -1).length - 1).as("times the secret was output").isEqualTo(1);
  }
}
