package io.modelway.app.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

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
}
