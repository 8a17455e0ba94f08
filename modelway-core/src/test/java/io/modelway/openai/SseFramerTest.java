package io.modelway.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SseFramerTest {
  private static final String STREAM =
      "data: {\"a\":1}\n\ndata: {\"b\":\"x\\n\"}\r\n\r\n: comment\n\ndata: [DONE]\n\n";

  @Test
  void relaysWholeEventsWhateverTheChunking() {
    byte[] all = STREAM.getBytes(StandardCharsets.UTF_8);
    for (int size = 1; size <= all.length; size++) {
      SseFramer framer = new SseFramer();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int i = 0; i < all.length; i += size) {
        byte[] chunk = java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + size));
        byte[] events = framer.feed(chunk);
        String text = new String(events, StandardCharsets.UTF_8);
        assertThat(text.isEmpty() || text.endsWith("\n\n") || text.endsWith("\n\r\n")).as("chunk size %d", size).isTrue();
        out.writeBytes(events);
      }
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(STREAM);
      assertThat(framer.done()).isTrue();
      assertThat(framer.hasPartialEvent()).isFalse();
    }
  }

  @Test
  void holdsBackAnUnfinishedEvent() {
    SseFramer framer = new SseFramer();
    byte[] out = framer.feed("data: {\"a\":1}\n\ndata: {\"b\"".getBytes(StandardCharsets.UTF_8));
    assertThat(new String(out, StandardCharsets.UTF_8)).isEqualTo("data: {\"a\":1}\n\n");
    assertThat(framer.hasPartialEvent()).isTrue();
    assertThat(framer.done()).isFalse();
  }

  @Test
  void doneMustBeTheWholeDataValue() {
    SseFramer framer = new SseFramer();
    framer.feed("data: {\"text\":\"[DONE]\"}\n\n".getBytes(StandardCharsets.UTF_8));
    assertThat(framer.done()).isFalse();
    framer.feed("data:[DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    assertThat(framer.done()).isTrue();
  }

  @Test
  void refusesAnEventThatNeverEnds() {
    SseFramer framer = new SseFramer();
    byte[] big = new byte[SseFramer.MAX_EVENT_BYTES + 1];
    java.util.Arrays.fill(big, (byte) 'x');
    assertThatThrownBy(() -> framer.feed(big)).isInstanceOf(IllegalStateException.class);
  }
}
