package io.modelway.app.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HubRefTest {

  @Test
  void readsARepoWithOrWithoutAFile() {
    assertThat(HubRef.parse("TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF"))
        .isEqualTo(new HubRef("TheBloke", "TinyLlama-1.1B-Chat-v1.0-GGUF", Optional.empty()));
    HubRef withFile = HubRef.parse("unsloth/Qwen3-8B-GGUF/Q4_K_M/Qwen3-8B-Q4_K_M.gguf");
    assertThat(withFile.repo()).isEqualTo("unsloth/Qwen3-8B-GGUF");
    assertThat(withFile.file()).contains("Q4_K_M/Qwen3-8B-Q4_K_M.gguf");
    assertThat(withFile).hasToString("unsloth/Qwen3-8B-GGUF/Q4_K_M/Qwen3-8B-Q4_K_M.gguf");
    assertThat(HubRef.parse("a/b/").file()).isEmpty();
  }

  @Test
  void rejectsNamesTheHubWouldNotAccept() {
    assertThatIllegalArgumentException().isThrownBy(() -> HubRef.parse("tinyllama"))
        .withMessageContaining("expected: OWNER/NAME");
    assertThatIllegalArgumentException().isThrownBy(() -> HubRef.parse("/name"));
    assertThatIllegalArgumentException().isThrownBy(() -> HubRef.parse("a--b/name"));
    assertThatIllegalArgumentException().isThrownBy(() -> HubRef.parse("owner/-name"));
    assertThatIllegalArgumentException().isThrownBy(() -> HubRef.parse("own er/name"));
  }

  @Test
  void rejectsFilePathsThatLeaveTheRepository() {
    for (String path : new String[] {"../x.gguf", "a/../../x.gguf", "a//b.gguf", "./x.gguf", "a\\b.gguf"}) {
      assertThatIllegalArgumentException().as(path).isThrownBy(() -> HubRef.parse("owner/name/" + path))
          .withMessageContaining("expected: a path inside the repository");
    }
  }

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
  void readsAnLfsSha256FromAnEtag() {
    String sha = "a".repeat(64);
    assertThat(HubFile.sha256In("\"" + sha + "\"")).contains(sha);
    assertThat(HubFile.sha256In("W/\"" + sha.toUpperCase() + "\"")).contains(sha);
    assertThat(HubFile.sha256In("\"" + "e".repeat(40) + "\"")).isEmpty();
  }
}
