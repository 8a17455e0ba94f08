package io.modelway.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelway.gateway.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** Tenants and keys in both stores: H2 (embedded) and the real PostgreSQL. */
class ApiKeysTest {
  @TempDir static Path dir;

  static Stream<String> stores() {
    return Stream.of("h2", "postgresql");
  }

  private static final Principal ADMIN = new Principal("admin", "admin-env", Optional.empty(),
      Role.PLATFORM_ADMIN, Set.of(), Optional.empty(), Optional.empty());
  private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

  private static Stores.Store open(String kind) {
    return kind.equals("h2") ? Stores.h2(dir.resolve("h2-" + System.nanoTime())) : Stores.postgres();
  }

  private static ApiKeys keys(Stores.Store store, Instant now) {
    return new ApiKeys(store.dataSource(),
        new TransactionTemplate(new DataSourceTransactionManager(store.dataSource())),
        Clock.fixed(now, ZoneOffset.UTC));
  }

  private static ApiKeys.NewKey member(String tenant) {
    return new ApiKeys.NewKey(tenant, Optional.of("web"), "ci", Role.MEMBER, Set.of("chat"),
        Optional.empty(), Optional.empty());
  }

  @ParameterizedTest
  @MethodSource("stores")
  void issuesAKeyWhoseSecretIsStoredOnlyAsAHash(String kind) {
    try (Stores.Store store = open(kind)) {
      ApiKeys keys = keys(store, NOW);
      keys.createTenant("acme", "Acme", Optional.empty(), ADMIN);
      ApiKeys.IssuedKey issued = keys.issue(member("acme"), ADMIN);

      assertThat(issued.secret()).startsWith("mw-").hasSize(35);
      assertThat(issued.key().prefix()).isEqualTo(issued.secret().substring(0, 9));
      assertThat(keys.byHash()).containsOnlyKeys(KeySecrets.sha256(issued.secret()));
      ApiKey listed = keys.keys(Optional.of("acme")).get(0);
      assertThat(listed).isEqualTo(issued.key());
      assertThat(listed.allowedModels()).containsExactly("chat");
      assertThat(listed.project()).contains("web");
      String everything = keys.keys(Optional.empty()).toString() + keys.audit(10);
      assertThat(everything).doesNotContain(issued.secret().substring(9));
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void refusesDuplicateAndMalformedTenantsAndKeysOfUnknownTenants(String kind) {
    try (Stores.Store store = open(kind)) {
      ApiKeys keys = keys(store, NOW);
      keys.createTenant("acme", "Acme", Optional.empty(), ADMIN);
      assertThatThrownBy(() -> keys.createTenant("acme", "Again", Optional.empty(), ADMIN))
          .isInstanceOf(ApiKeys.Refused.class).hasMessageContaining("already exists");
      assertThatThrownBy(() -> keys.createTenant("Bad Id", "x", Optional.empty(), ADMIN))
          .hasMessageContaining("not valid");
      assertThatThrownBy(() -> keys.issue(member("nobody"), ADMIN))
          .hasMessageContaining("no tenant 'nobody'");
      assertThat(keys.tenants()).extracting(ApiKeys.Tenant::id).containsExactly("acme", "admin");
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void revokesAndRotatesWithAGracePeriodAndAuditsEveryChange(String kind) {
    try (Stores.Store store = open(kind)) {
      ApiKeys keys = keys(store, NOW);
      keys.createTenant("acme", "Acme", Optional.empty(), ADMIN);
      ApiKey first = keys.issue(member("acme"), ADMIN).key();
      ApiKey second = keys.issue(member("acme"), ADMIN).key();

      ApiKey revoked = keys.revoke(first.id(), ADMIN);
      assertThat(revoked.revokedAt()).contains(NOW);
      assertThat(revoked.validAt(NOW)).isFalse();

      ApiKeys.IssuedKey rotated = keys.rotate(second.id(), Duration.ofHours(1), Optional.empty(), ADMIN);
      ApiKey old = keys.key(second.id()).orElseThrow();
      assertThat(old.expiresAt()).contains(NOW.plus(1, ChronoUnit.HOURS));
      assertThat(old.validAt(NOW.plus(59, ChronoUnit.MINUTES))).isTrue();
      assertThat(old.validAt(NOW.plus(61, ChronoUnit.MINUTES))).isFalse();
      assertThat(rotated.key().allowedModels()).isEqualTo(second.allowedModels());
      assertThatThrownBy(() -> keys.rotate(first.id(), Duration.ofHours(1), Optional.empty(), ADMIN))
          .hasMessageContaining("revoked");

      List<String> actions = keys.audit(10).stream().map(ApiKeys.AuditEntry::action).toList();
      assertThat(actions).containsExactly(
          "key.rotate", "key.revoke", "key.create", "key.create", "tenant.create");
      assertThat(keys.audit(1).get(0).actorKeyId()).contains("admin-env");
    }
  }

  /** Regression: rotating an expired key gave a new key that never expired. */
  @ParameterizedTest
  @MethodSource("stores")
  void rotationKeepsTheExpiryRuleAndNeverRevivesAnExpiredKey(String kind) {
    try (Stores.Store store = open(kind)) {
      ApiKeys issuing = keys(store, NOW);
      issuing.createTenant("acme", "Acme", Optional.empty(), ADMIN);
      ApiKey monthly = issuing.issue(new ApiKeys.NewKey("acme", Optional.empty(), "m",
          Role.MEMBER, Set.of(), Optional.of(NOW.plus(30, ChronoUnit.DAYS)), Optional.empty()),
          ADMIN).key();
      ApiKey forever = issuing.issue(member("acme"), ADMIN).key();

      Instant later = NOW.plus(10, ChronoUnit.DAYS);
      ApiKeys keys = keys(store, later);
      assertThat(keys.rotate(monthly.id(), Duration.ofHours(1), Optional.empty(), ADMIN).key()
          .expiresAt()).contains(later.plus(30, ChronoUnit.DAYS));
      assertThat(keys.rotate(forever.id(), Duration.ofHours(1), Optional.empty(), ADMIN).key()
          .expiresAt()).isEmpty();
      assertThat(keys.rotate(forever.id(), Duration.ofHours(1), Optional.of(Duration.ofDays(7)),
          ADMIN).key().expiresAt()).contains(later.plus(7, ChronoUnit.DAYS));

      ApiKeys afterExpiry = keys(store, NOW.plus(31, ChronoUnit.DAYS));
      ApiKey lapsed = afterExpiry.keys(Optional.of("acme")).stream()
          .filter(k -> k.expiresAt().isPresent() && !k.validAt(NOW.plus(31, ChronoUnit.DAYS)))
          .findFirst().orElseThrow();
      assertThatThrownBy(() -> afterExpiry.rotate(lapsed.id(), Duration.ofHours(1),
          Optional.empty(), ADMIN))
          .isInstanceOf(ApiKeys.Refused.class).hasMessageContaining("expired");
    }
  }

  @ParameterizedTest
  @MethodSource("stores")
  void createsTheBootstrapAdminKeyOnlyOnce(String kind) {
    try (Stores.Store store = open(kind)) {
      ApiKeys keys = keys(store, NOW);
      Optional<ApiKeys.IssuedKey> first = keys.bootstrapAdminKey();
      assertThat(first).isPresent();
      assertThat(first.get().key().role()).isEqualTo(Role.PLATFORM_ADMIN);
      assertThat(first.get().key().tenantId()).isEqualTo("admin");
      assertThat(keys.bootstrapAdminKey()).isEmpty();
    }
  }
}
