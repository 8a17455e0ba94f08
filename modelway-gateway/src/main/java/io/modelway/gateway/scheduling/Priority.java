package io.modelway.gateway.scheduling;

import java.util.Locale;
import java.util.Optional;

/**
 * A call's priority class in its model's queue. Classes are served in strict order: a waiting
 * {@code CRITICAL} call always goes before a {@code STANDARD} one, which goes before a {@code
 * SHEDDABLE} one. A caller's class comes from its plan and may be lowered, never raised, per
 * request with the {@value #HEADER} header.
 */
public enum Priority {
  /** Interactive, user-facing calls: served first, shed last. */
  CRITICAL,
  /** The default class. */
  STANDARD,
  /** Batch and background calls: served when nothing else waits, refused first (429). */
  SHEDDABLE;

  /** The request header that lowers a call's class: {@code standard} or {@code sheddable}. */
  public static final String HEADER = "x-modelway-priority";

  /** The name in plans, headers and metrics: {@code critical}, {@code standard}, {@code sheddable}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The class {@code label} names, in any case; empty for anything else. */
  public static Optional<Priority> parse(String label) {
    for (Priority p : values()) {
      if (p.label().equalsIgnoreCase(label.trim())) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** The lower of the two classes. */
  public Priority atMost(Priority other) {
    return compareTo(other) >= 0 ? this : other;
  }
}
