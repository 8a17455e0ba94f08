package io.modelway.runtime.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufHeaderTest {

  @Test
  void readsWhatModelwayModelsLists(@TempDir Path dir) throws Exception {
    Path file = GgufWriter.write(dir.resolve("tiny.gguf"), 3);
    GgufHeader header = GgufHeader.read(file);
    assertThat(header.architecture()).isEqualTo("llama");
    assertThat(header.fileSize()).isEqualTo(Files.size(file));
    assertThat(header.quantization()).isEqualTo("F32");
    assertThat(header.contextLength()).isPresent();
    assertThat(header.chatTemplate()).isPresent();
  }

  @Test
  void namesWhatIsWrongWithATruncatedFile(@TempDir Path dir) throws Exception {
    byte[] whole = Files.readAllBytes(GgufWriter.write(dir.resolve("tiny.gguf"), 3));
    Path cut = dir.resolve("cut.gguf");
    Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
    assertThatThrownBy(() -> GgufHeader.read(cut))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("cut.gguf")
        .hasMessageContaining("truncated");
  }
}
