package io.modelway.app.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One resumable download of a hub file, run once by {@link HubClient#download}.
 *
 * <p>Design: the bytes go to {@code TARGET.incomplete}, locked against a second {@code pull} of
 * the same file, and are hashed as they are written, so that the SHA-256 check costs no second
 * read. An existing partial file is hashed once and continued with {@code Range: bytes=N-}: a 206
 * appends, a 200 (a server that does not do ranges) starts over. A transfer that breaks (an I/O
 * error, a connection closed early, a 5xx, no byte for {@code stallTimeout}) is retried from the
 * bytes on disk, always from the hub's URL so that an expired CDN signature is renewed, as
 * {@code huggingface_hub}'s {@code http_get} resumes. After the last failed attempt the partial
 * file stays for the next run. A complete file is checked (size, then SHA-256 when the hub gives
 * one — it does for every LFS file) and atomically renamed into place; one that fails the check
 * is deleted. Not thread-safe: one thread runs it.
 *
 * <p>Failing open or closed: a wrong size or SHA-256 fails closed (the bytes are deleted). A file
 * the hub gives no SHA-256 for — kept in Git rather than LFS, so small — is accepted on its size
 * alone, failing open, because the hub has nothing to check it against;
 * {@link DownloadResult#verified()} says so, and {@code pull} tells the user.
 */
final class FileDownload {
  private static final int BUFFER_SIZE = 1 << 16;
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

  private final HubClient client;
  private final HubFile file;
  private final Path target;
  private final Path partial;
  private final DownloadPolicy policy;
  private final DownloadListener listener;
  private final MessageDigest sha256 = newSha256();
  private long done;

  FileDownload(HubClient client, HubFile file, Path target, DownloadPolicy policy,
      DownloadListener listener) {
    this.client = client;
    this.file = file;
    this.target = target;
    this.partial = target.resolveSibling(target.getFileName() + ".incomplete");
    this.policy = policy;
    this.listener = listener;
  }

  DownloadResult run() {
    boolean verified = file.sha256().isPresent();
    ScheduledExecutorService watchdog = null;
    try {
      Path dir = target.toAbsolutePath().getParent();
      if (dir != null) {
        Files.createDirectories(dir);
      }
      if (Files.isRegularFile(target) && isComplete(target)) {
        return new DownloadResult(target, file.size(), true, verified);
      }
      watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "modelway-download-watchdog");
        t.setDaemon(true);
        return t;
      });
      try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE,
          StandardOpenOption.READ, StandardOpenOption.WRITE);
          FileLock lock = lock(out)) {
        transfer(out, watchdog);
        out.force(false);
      }
      String actual = HexFormat.of().formatHex(sha256.digest());
      if (verified && !file.sha256().get().equals(actual)) {
        Files.deleteIfExists(partial);
        throw new DownloadException("SHA-256 mismatch for " + file.path() + ": the hub says "
            + file.sha256().get() + ", the downloaded bytes hash to " + actual
            + ". The download was deleted.");
      }
      move(partial, target);
      return new DownloadResult(target, file.size(), false, verified);
    } catch (IOException e) {
      throw new DownloadException("Cannot write " + partial + ": " + HubClient.describe(e),
          Files.exists(partial) ? Optional.of(partial) : Optional.empty(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DownloadException("The download of " + file.path() + " was interrupted.",
          Optional.of(partial), e);
    } finally {
      if (watchdog != null) {
        watchdog.shutdownNow();
      }
    }
  }

  /** Whether {@code path} has the hub's size and, when the hub gives one, its SHA-256. */
  private boolean isComplete(Path path) throws IOException {
    if (Files.size(path) != file.size()) {
      return false;
    }
    if (file.sha256().isEmpty()) {
      return true;
    }
    listener.checking(file.size());
    MessageDigest digest = newSha256();
    try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
      hash(in, file.size(), digest);
    }
    return HexFormat.of().formatHex(digest.digest()).equals(file.sha256().get());
  }

  private FileLock lock(FileChannel out) {
    try {
      FileLock lock = out.tryLock();
      if (lock != null) {
        return lock;
      }
    } catch (OverlappingFileLockException | IOException e) {
      // reported below
    }
    throw new DownloadException("Another download of " + file.path() + " is writing " + partial
        + ": wait for it to finish.");
  }

  private void transfer(FileChannel out, ScheduledExecutorService watchdog)
      throws IOException, InterruptedException {
    done = out.size();
    if (done > file.size()) {
      listener.restarted("the partial file is larger than " + file.path() + " on the hub");
      reset(out);
    }
    if (done > 0) {
      listener.checking(done);
      hash(out, done, sha256);
    }
    out.position(done);
    listener.started(file.size(), done);
    for (int attempt = 1; done < file.size(); attempt++) {
      try {
        attempt(out, watchdog);
      } catch (BrokenTransfer e) {
        if (attempt >= policy.attempts()) {
          throw new DownloadException("The download of " + file.path() + " failed " + attempt
              + (attempt == 1 ? " time" : " times") + "; the last time: " + e.getMessage() + ".",
              done > 0 ? Optional.of(partial) : Optional.empty(), e);
        }
        listener.retrying(e.getMessage(), done, attempt + 1, policy.attempts());
        if (!policy.retryDelay().isZero()) {
          Thread.sleep(policy.retryDelay().toMillis());
        }
      }
    }
    listener.finished(done);
  }

  /** One request, continuing from {@link #done}; returns once the file is complete. */
  private void attempt(FileChannel out, ScheduledExecutorService watchdog)
      throws BrokenTransfer, IOException, InterruptedException {
    HttpResponse<InputStream> r;
    try {
      r = client.get(file.url(), done, policy.stallTimeout());
    } catch (IOException e) {
      throw new BrokenTransfer("no answer from " + file.url().getHost() + ": " + HubClient.describe(e));
    }
    try (InputStream body = r.body()) {
      int status = r.statusCode();
      if (status == 206) {
        Matcher range = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
        if (!range.matches()) {
          throw new BrokenTransfer("a partial answer without a valid Content-Range");
        }
        checkSize(range.group(3).equals("*") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(range.group(3))));
        if (Long.parseLong(range.group(1)) != done) {
          throw new BrokenTransfer("the server sent bytes from " + range.group(1) + " when asked for " + done);
        }
      } else if (status == 200) {
        checkSize(r.headers().firstValueAsLong("Content-Length"));
        if (done > 0) {
          listener.restarted("the server sent the whole file, not the rest of it");
          reset(out);
        }
      } else if (status == 416) {
        listener.restarted("the server cannot send the bytes after the " + done + " on disk (HTTP 416)");
        reset(out);
        throw new BrokenTransfer("HTTP 416");
      } else if (status == 408 || status == 429 || status / 100 == 5) {
        throw new BrokenTransfer("HTTP " + status + " from " + r.uri().getHost());
      } else {
        throw refused(r);
      }
      copy(body, out, watchdog);
    }
  }

  private void copy(InputStream body, FileChannel out, ScheduledExecutorService watchdog)
      throws BrokenTransfer, IOException {
    long stallNanos = policy.stallTimeout().toNanos();
    AtomicLong lastRead = new AtomicLong(System.nanoTime());
    AtomicBoolean stalled = new AtomicBoolean();
    long period = Math.max(TimeUnit.MILLISECONDS.toNanos(10), stallNanos / 4);
    // The JDK's HttpClient has no read timeout for a body: closing the stream from here wakes
    // the blocked read with an IOException.
    ScheduledFuture<?> check = watchdog.scheduleAtFixedRate(() -> {
      if (System.nanoTime() - lastRead.get() > stallNanos && !stalled.getAndSet(true)) {
        try {
          body.close();
        } catch (IOException e) {
          // the read fails either way
        }
      }
    }, period, period, TimeUnit.NANOSECONDS);
    try {
      byte[] buffer = new byte[BUFFER_SIZE];
      while (done < file.size()) {
        int n;
        try {
          n = body.read(buffer);
        } catch (IOException e) {
          throw new BrokenTransfer(stalled.get() ? stallMessage()
              : "the connection broke: " + HubClient.describe(e));
        }
        if (n < 0) {
          throw new BrokenTransfer(stalled.get() ? stallMessage() : "the connection closed early");
        }
        lastRead.set(System.nanoTime());
        // Bytes past the hub's size are not the hub's file: they are left out, and the hash
        // check says whether what came before them was.
        int keep = (int) Math.min(n, file.size() - done);
        ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, keep);
        while (chunk.hasRemaining()) {
          out.write(chunk);
        }
        sha256.update(buffer, 0, keep);
        done += keep;
        listener.progressed(done);
      }
    } finally {
      check.cancel(false);
    }
  }

  private String stallMessage() {
    return "no data for " + policy.stallTimeout().toMillis() / 1000.0 + " s";
  }

  private void checkSize(OptionalLong served) {
    if (served.isPresent() && served.getAsLong() != file.size()) {
      throw new DownloadException("The server's " + file.path() + " is " + served.getAsLong()
          + " bytes, but the hub says " + file.size() + ": the file changed or the mirror is out of date.");
    }
  }

  private HubException refused(HttpResponse<?> r) {
    int status = r.statusCode();
    HubException.Reason reason = status == 401 ? HubException.Reason.UNAUTHORIZED
        : status == 403 ? HubException.Reason.FORBIDDEN
        : status == 404 ? HubException.Reason.NOT_FOUND
        : HubException.Reason.UNAVAILABLE;
    return new HubException(reason, "Downloading " + file.path() + " from " + r.uri() + ": HTTP "
        + status + (status == 401 && !client.hasToken() ? " (set HF_TOKEN)." : "."));
  }

  private void reset(FileChannel out) throws IOException {
    out.truncate(0);
    out.position(0);
    sha256.reset();
    done = 0;
  }

  private static void hash(FileChannel in, long bytes, MessageDigest digest) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
    long position = 0;
    while (position < bytes) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), bytes - position));
      int n = in.read(buffer, position);
      if (n < 0) {
        throw new IOException("file ended after " + position + " bytes, expected " + bytes);
      }
      digest.update(buffer.flip());
      position += n;
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** A transfer that broke and may be tried again from the bytes on disk. */
  private static final class BrokenTransfer extends Exception {
    private static final long serialVersionUID = 1L;

    BrokenTransfer(String message) {
      super(message);
    }
  }
}
