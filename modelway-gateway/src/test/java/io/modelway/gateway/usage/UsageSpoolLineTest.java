package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** A spooled line reads back as the record written, whichever optional parts it has. */
class UsageSpoolLineTest {
  private static UsageRecord decode(byte[] line) {
    // The line as the mover sees it: inside a larger buffer, without its newline.
    byte[] padded = new byte[line.length + 6];
    System.arraycopy(line, 0, padded, 3, line.length);
    return UsageSpool.decode(padded, 3, line.length - 1);
  }

  @Test
  void aRecordWithEveryPartReadsBackEqual() {
    UsageRecord full = new UsageRecord("u1", Instant.parse("2026-11-29T18:30:01.123456Z"),
        "req_1", "acme", Optional.of("search"), "key_1", "chat/completions", "chat",
        Optional.of("sim"), 200, "completed", 12, 34, 5, true, 250, OptionalLong.of(40), true,
        Optional.of("trace-1"), OptionalLong.of(1_234_567_891L), Optional.of("EUR"),
        Optional.of("chat-small"));
    assertThat(decode(UsageSpool.encode(full))).isEqualTo(full);
  }

  @Test
  void aRecordWithoutTheOptionalPartsReadsBackEqual() {
    UsageRecord bare = new UsageRecord("u2", Instant.parse("2026-11-29T18:30:02Z"), "req_2",
        "acme", Optional.empty(), "key_1", "embeddings", "all-minilm-l6-v2", Optional.empty(), 429,
        "refused", 0, 0, 0, false, 1, OptionalLong.empty(), false, Optional.empty(),
        OptionalLong.empty(), Optional.empty());
    assertThat(decode(UsageSpool.encode(bare))).isEqualTo(bare);
  }

  @Test
  void aLineWithoutTheRequiredPartsIsRefused() {
    byte[] line = "{\"id\":\"u3\",\"extra\":{\"a\":[1,2]}}\n".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> decode(line)).isInstanceOf(RuntimeException.class);
  }
}
