package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

/**
 * The hub refused or could not answer a request. The message is for the user: it says what was
 * asked and what to do about it (set {@code HF_TOKEN}, check the name, try again).
 */
public final class HubException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the hub did not give what was asked. */
  public enum Reason {
    /** 401: no token, or one the hub does not accept (also its answer for repos it will not show). */
    UNAUTHORIZED,
    /** 403: the token may not read this repository, or the repository is gated. */
    FORBIDDEN,
    /** 404: no such repository, revision or file. */
    NOT_FOUND,
    /** Any other status, an unreadable answer, or the hub could not be reached. */
    UNAVAILABLE;

    /** Whether the user's request is at fault (a name, a token), not the hub or the network. */
    public boolean isUsageError() {
      return this != UNAVAILABLE;
    }
  }

  private final Reason reason;

  /** An exception with a message for the user. */
  public HubException(Reason reason, String message) {
    super(requireNonNull(message, "message"));
    this.reason = requireNonNull(reason, "reason");
  }

  /** An exception with a message for the user and the failure that caused it. */
  public HubException(Reason reason, String message, Throwable cause) {
    super(requireNonNull(message, "message"), requireNonNull(cause, "cause"));
    this.reason = requireNonNull(reason, "reason");
  }

  /** Why the hub did not give what was asked. */
  public Reason reason() {
    return reason;
  }
}
