package io.modelway.app.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HubClientTest {

  @Test
  void readsAnEndpointWithoutItsTrailingSlash() {
    assertThat(HubClient.parseEndpoint("https://hf-mirror.com/")).isEqualTo(URI.create("https://hf-mirror.com"));
    assertThat(HubClient.parseEndpoint("http://10.0.0.1:8080/hf")).isEqualTo(URI.create("http://10.0.0.1:8080/hf"));
    assertThatIllegalArgumentException().isThrownBy(() -> HubClient.parseEndpoint("huggingface.co"))
        .withMessageContaining("expected: an http:// or https:// URL");
  }

  @Test
  void encodesRevisionsAndFileNamesInResolveUrls() {
    HubClient client = new HubClient(URI.create("https://huggingface.co"), Optional.empty(), "test");
    assertThat(client.resolveUrl("owner/name", "refs/pr/1", "dir/my model+1.gguf"))
        .hasToString("https://huggingface.co/owner/name/resolve/refs%2Fpr%2F1/dir/my%20model%2B1.gguf");
  }

  @Test
  void describesIoFailuresByTheirMostSpecificCause() {
    assertThat(HubClient.describe(new IOException("closed", new EOFException("EOF reached while reading"))))
        .isEqualTo("EOF reached while reading");
    // What the JDK's client throws for an unknown host and a refused connection: no message at all.
    ConnectException unknownHost = new ConnectException();
    unknownHost.initCause(new ConnectException().initCause(new UnresolvedAddressException()));
    assertThat(HubClient.describe(unknownHost)).isEqualTo("cannot resolve the host name");
    ConnectException refused = new ConnectException();
    refused.initCause(new ClosedChannelException());
    assertThat(HubClient.describe(refused)).isEqualTo("cannot connect");
  }

  @Test
  void readsAnLfsSha256FromAnEtag() {
    String sha = "a".repeat(64);
    assertThat(HubFile.sha256In("\"" + sha + "\"")).contains(sha);
    assertThat(HubFile.sha256In("W/\"" + sha.toUpperCase() + "\"")).contains(sha);
    assertThat(HubFile.sha256In("\"" + "e".repeat(40) + "\"")).isEmpty();
  }
}
