package io.modelway.gateway;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Guards that BlockHound watches the non-blocking threads in this module's tests. */
class BlockHoundInstalledTest {

  @Test
  void blockingOnANonBlockingThreadFails() {
    assertThatThrownBy(() -> Mono.delay(Duration.ofMillis(1))
            .doOnNext(tick -> {
              try {
                Thread.sleep(1);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            })
            .subscribeOn(Schedulers.parallel())
            .block(Duration.ofSeconds(5)))
        .hasMessageContaining("Blocking call");
  }
}
