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
  private static final UsageRecord FULL = new UsageRecord("u1",
      Instant.parse("2026-11-29T18:30:01.123456Z"), "req_1", "acme", Optional.of("search"),
      "key_1", "chat/completions", "chat", Optional.of("sim"), 200, "completed", 12, 34, 5, true,
      250, OptionalLong.of(40), true, Optional.of("trace-1"), OptionalLong.of(1_234_567_891L),
      Optional.of("EUR"), Optional.of("chat-small"));

  private static UsageRecord decode(byte[] line) {
    // The line as the mover sees it: inside a larger buffer, without its newline.
    byte[] padded = new byte[line.length + 6];
    System.arraycopy(line, 0, padded, 3, line.length);
    return UsageSpool.decode(padded, 3, line.length - 1);
  }

  @Test
  void aRecordWithEveryPartReadsBackEqual() {
    assertThat(decode(UsageSpool.encode(FULL))).isEqualTo(FULL);
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
  void aLineKeepsTheTimeAsMicrosecondsSinceTheEpoch() {
    assertThat(new String(UsageSpool.encode(FULL), StandardCharsets.UTF_8))
        .contains("\"at\":1795977001123456,");
    UsageRecord finer = new UsageRecord("u4", Instant.parse("1969-12-31T23:59:59.999999999Z"),
        "req_4", "acme", Optional.empty(), "key_1", "embeddings", "all-minilm-l6-v2",
        Optional.empty(), 200, "completed", 1, 0, 0, true, 1, OptionalLong.empty(), false,
        Optional.empty(), OptionalLong.empty(), Optional.empty());
    assertThat(decode(UsageSpool.encode(finer)).at())
        .isEqualTo(Instant.parse("1969-12-31T23:59:59.999999Z"));
  }

  /** Regression: an upgrade moves the spool an earlier version wrote, with the time as text. */
  @Test
  void aLineOfAnEarlierVersionWithTheTimeAsTextReadsBackEqual() {
    byte[] line = """
        {"id":"u1","at":"2026-11-29T18:30:01.123456Z","request_id":"req_1","tenant":"acme",\
        "project":"search","key_id":"key_1","endpoint":"chat/completions","model":"chat",\
        "backend":"sim","served_model":"chat-small","status":200,"outcome":"completed",\
        "prompt_tokens":12,"completion_tokens":34,"cached_tokens":5,"usage_reported":true,\
        "latency_ms":250,"ttft_ms":40,"cache_hit":true,"trace_id":"trace-1","cost":1.234567891,\
        "currency":"EUR"}
        """.getBytes(StandardCharsets.UTF_8);
    assertThat(decode(line)).isEqualTo(FULL);
  }

  @Test
  void aLineWithoutTheRequiredPartsIsRefused() {
    byte[] line = "{\"id\":\"u3\",\"extra\":{\"a\":[1,2]}}\n".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> decode(line)).isInstanceOf(RuntimeException.class);
  }
}
