package io.modelway.gateway.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.TimeMeter;
import io.modelway.gateway.auth.Principal;
import io.modelway.gateway.auth.Role;
import io.modelway.openai.Endpoint;
import io.modelway.openai.OpenAiException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class FailedCallsTest {
  private record Line(Level level, String text) {}

  /** A clock the test moves. */
  private static final class MovedTime implements TimeMeter {
    long nanos;

    @Override
    public long currentTimeNanos() {
      return nanos;
    }

    @Override
    public boolean isWallClockBased() {
      return false;
    }

    void advance(Duration by) {
      nanos += by.toNanos();
    }
  }

  private final MovedTime time = new MovedTime();
  private final List<Line> lines = new ArrayList<>();
  private final FailedCalls failed = FailedCalls.to(time, (level, text) -> lines.add(new Line(level, text)));
  private final Principal acme = new Principal("acme", "key_1", Optional.empty(), Role.MEMBER,
      Set.of(), Optional.empty(), Optional.empty());

  @Test
  void aServerErrorIsOneWarnLineAndAClientErrorOneInfoLine() {
    failed.failed("req_1", 502, "chat", "sim", "acme", "Backend sim: connection refused");
    failed.failed("req_2", 429, "chat", "", "acme", "Rate limit reached: \"rpm\"\nretry");
    assertThat(lines).containsExactly(
        new Line(Level.WARN, "call failed: request_id=req_1 status=502 model=chat backend=sim"
            + " tenant=acme reason=\"Backend sim: connection refused\""),
        new Line(Level.INFO, "call failed: request_id=req_2 status=429 model=chat backend=-"
            + " tenant=acme reason=\"Rate limit reached: \\\"rpm\\\" retry\""));
  }

  @Test
  void aFloodIsLoggedAtTwentyLinesASecondThenCountedInOneLine() {
    for (int i = 0; i < 25; i++) {
      failed.failed("req_" + i, 401, "", "", "", "Incorrect API key provided");
    }
    assertThat(lines).hasSize((int) FailedCalls.PER_SECOND);
    time.advance(Duration.ofSeconds(1));
    failed.failed("req_25", 401, "", "", "", "Incorrect API key provided");
    assertThat(lines).hasSize((int) FailedCalls.PER_SECOND + 2);
    assertThat(lines.get(20)).isEqualTo(new Line(Level.WARN,
        "5 more failed calls not logged in the last 1 s (at most 20 lines a second)"));
    assertThat(lines.get(21).text()).startsWith("call failed: request_id=req_25 status=401");
  }

  @Test
  void anAccountLogsItsFailureWithModelBackendTenantAndReason() {
    Accounting.Account account = Accounting.none(failed).open(acme, "req_a", Endpoint.CHAT_COMPLETIONS);
    account.model("chat");
    account.backend("sim");
    account.failed(503, new OpenAiException(503, "server_error", "Backend sim is overloaded",
        null, null));
    assertThat(lines).containsExactly(new Line(Level.WARN, "call failed: request_id=req_a"
        + " status=503 model=chat backend=sim tenant=acme reason=\"Backend sim is overloaded\""));
  }

  @Test
  void aClientsOwnCancelAndASuccessAreNotLogged() {
    Accounting accounting = Accounting.none(failed);
    accounting.open(acme, "req_c", Endpoint.CHAT_COMPLETIONS).ended(499, "cancelled");
    accounting.open(acme, "req_d", Endpoint.CHAT_COMPLETIONS).completed(200);
    assertThat(lines).isEmpty();
  }

  @Test
  void aBackendsErrorAnswerIsLoggedWithItsStatus() {
    Accounting.Account account = Accounting.none(failed).open(acme, "req_e", Endpoint.CHAT_COMPLETIONS);
    account.model("chat");
    account.backend("sim");
    account.completed(400);
    assertThat(lines).extracting(Line::text).containsExactly("call failed: request_id=req_e"
        + " status=400 model=chat backend=sim tenant=acme reason=\"the backend answered 400\"");
  }

  @Test
  void aCallRefusedBeforeItHadAnAccountIsLoggedWithoutModelOrTenant() {
    Accounting.none(failed).refused("req_f", 401, "Incorrect API key provided");
    assertThat(lines).extracting(Line::text).containsExactly("call failed: request_id=req_f"
        + " status=401 model=- backend=- tenant=- reason=\"Incorrect API key provided\"");
  }
}
