package io.modelway.app;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face Hub on two local ports, answering as huggingface.co does: the tree API with LFS
 * object ids and sizes, paged with {@code Link: <…>; rel="next"}; {@code HEAD} and {@code GET}
 * on {@code /OWNER/NAME/resolve/REV/FILE} as a 302 to a CDN carrying {@code X-Linked-Etag},
 * {@code X-Linked-Size} and {@code X-Repo-Commit}; errors with {@code X-Error-Code}. The CDN, a
 * second server (another origin, as cdn-lfs.hf.co is), serves the bytes with ranges (206 and
 * {@code Content-Range}), and can misbehave on request: cut transfers by closing the connection,
 * stall, or ignore ranges.
 */
final class FakeHub implements AutoCloseable {
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

  /** A request as a server saw it, with the body bytes it sent back. */
  static final class Seen {
    final String method;
    final String path;
    final Optional<String> range;
    final Optional<String> authorization;
    volatile long bytesSent;

    Seen(HttpExchange exchange) {
      this.method = exchange.getRequestMethod();
      this.path = exchange.getRequestURI().getRawPath();
      this.range = Optional.ofNullable(exchange.getRequestHeaders().getFirst("Range"));
      this.authorization = Optional.ofNullable(exchange.getRequestHeaders().getFirst("Authorization"));
    }

    @Override
    public String toString() {
      return method + " " + path + range.map(r -> " Range: " + r).orElse("") + " -> " + bytesSent + " bytes";
    }
  }

  private record Repo(Map<String, byte[]> files, Optional<String> token) {}

  private final HttpServer hub;
  private final HttpServer cdn;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final Map<String, Repo> repos = new ConcurrentHashMap<>();
  private final Map<String, String> claimedSha256 = new ConcurrentHashMap<>();
  private final Map<Integer, byte[]> blobs = new ConcurrentHashMap<>();
  private final AtomicInteger nextBlob = new AtomicInteger();
  private final Map<String, Integer> blobIds = new ConcurrentHashMap<>();
  final List<Seen> hubRequests = new CopyOnWriteArrayList<>();
  final List<Seen> cdnRequests = new CopyOnWriteArrayList<>();

  private volatile int treePageSize = 1000;
  private volatile long cutAfter = -1;
  private volatile int cutResponses;
  private volatile long stallAfter = -1;
  private volatile boolean ignoreRanges;
  private volatile CountDownLatch stalled = new CountDownLatch(0);

  FakeHub() throws IOException {
    InetSocketAddress local = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    hub = HttpServer.create(local, 0);
    cdn = HttpServer.create(local, 0);
    hub.setExecutor(threads);
    cdn.setExecutor(threads);
    hub.createContext("/", this::handleHub);
    cdn.createContext("/", this::handleCdn);
    hub.start();
    cdn.start();
  }

  /** The value for {@code HF_ENDPOINT}. */
  String endpoint() {
    return "http://127.0.0.1:" + hub.getAddress().getPort();
  }

  /** Adds a public repository with these files. */
  FakeHub repo(String repo, Map<String, byte[]> files) {
    repos.put(repo, new Repo(new LinkedHashMap<>(files), Optional.empty()));
    return this;
  }

  /** Adds a repository that answers 401 without {@code Authorization: Bearer token}. */
  FakeHub privateRepo(String repo, String token, Map<String, byte[]> files) {
    repos.put(repo, new Repo(new LinkedHashMap<>(files), Optional.of(token)));
    return this;
  }

  /** Makes the hub's metadata give {@code sha256} for a file, whatever its bytes hash to. */
  FakeHub claimSha256(String repo, String path, String sha256) {
    claimedSha256.put(repo + "/" + path, sha256);
    return this;
  }

  /** Pages the tree API's answer by {@code size} entries. */
  FakeHub pageTreeBy(int size) {
    treePageSize = size;
    return this;
  }

  /** The next {@code responses} CDN answers close the connection after {@code bytes} body bytes. */
  FakeHub cutTransfers(int responses, long bytes) {
    cutResponses = responses;
    cutAfter = bytes;
    return this;
  }

  /** The next CDN answer stops sending after {@code bytes} and hangs until another request comes. */
  FakeHub stallFirstTransferAfter(long bytes) {
    stallAfter = bytes;
    return this;
  }

  /** The CDN answers every request with the whole file, as a server without range support. */
  FakeHub ignoreRanges() {
    ignoreRanges = true;
    return this;
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Override
  public void close() {
    stalled.countDown();
    hub.stop(0);
    cdn.stop(0);
    threads.shutdownNow();
  }

  private static final Pattern TREE = Pattern.compile("/api/models/([^/]+/[^/]+)/tree/([^/]+)");
  private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");

  private void handleHub(HttpExchange exchange) throws IOException {
    Seen seen = new Seen(exchange);
    hubRequests.add(seen);
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      Matcher tree = TREE.matcher(path);
      Matcher resolve = RESOLVE.matcher(path);
      if (tree.matches()) {
        tree(exchange, tree.group(1), decode(tree.group(2)));
      } else if (resolve.matches()) {
        resolve(exchange, resolve.group(1), decode(resolve.group(2)), decode(resolve.group(3)));
      } else {
        exchange.sendResponseHeaders(404, -1);
      }
    }
  }

  private void tree(HttpExchange exchange, String repoId, String revision) throws IOException {
    Optional<Repo> repo = access(exchange, repoId, revision);
    if (repo.isEmpty()) {
      return;
    }
    List<String> entries = new ArrayList<>();
    entries.add("{\"type\":\"directory\",\"oid\":\"" + "d".repeat(40) + "\",\"size\":0,\"path\":\"docs\"}");
    for (Map.Entry<String, byte[]> file : repo.get().files().entrySet()) {
      long size = file.getValue().length;
      entries.add("{\"type\":\"file\",\"oid\":\"" + "e".repeat(40) + "\",\"size\":" + size
          + ",\"path\":\"" + file.getKey() + "\",\"lfs\":{\"oid\":\"" + advertisedSha256(repoId, file.getKey())
          + "\",\"size\":" + size + ",\"pointerSize\":134}}");
    }
    String query = Optional.ofNullable(exchange.getRequestURI().getRawQuery()).orElse("");
    Matcher cursor = Pattern.compile("cursor=(\\d+)").matcher(query);
    int from = cursor.find() ? Integer.parseInt(cursor.group(1)) : 0;
    int to = Math.min(entries.size(), from + treePageSize);
    if (to < entries.size()) {
      exchange.getResponseHeaders().add("Link", "<" + endpoint() + exchange.getRequestURI().getRawPath()
          + "?recursive=true&cursor=" + to + ">; rel=\"next\"");
    }
    byte[] body = ("[" + String.join(",", entries.subList(from, to)) + "]").getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, body.length);
    exchange.getResponseBody().write(body);
  }

  private void resolve(HttpExchange exchange, String repoId, String revision, String file) throws IOException {
    Optional<Repo> repo = access(exchange, repoId, revision);
    if (repo.isEmpty()) {
      return;
    }
    byte[] bytes = repo.get().files().get(file);
    if (bytes == null) {
      error(exchange, 404, "EntryNotFound", file + " does not exist on \"" + revision + "\"");
      return;
    }
    int blob = blobIds.computeIfAbsent(repoId + "/" + file, k -> {
      int id = nextBlob.incrementAndGet();
      blobs.put(id, bytes);
      return id;
    });
    String sha256 = advertisedSha256(repoId, file);
    exchange.getResponseHeaders().add("X-Repo-Commit", COMMIT);
    exchange.getResponseHeaders().add("X-Linked-Etag", "\"" + sha256 + "\"");
    exchange.getResponseHeaders().add("X-Linked-Size", Long.toString(bytes.length));
    exchange.getResponseHeaders().add("ETag", "\"" + "e".repeat(40) + "\"");
    exchange.getResponseHeaders().add("Location", "http://127.0.0.1:" + cdn.getAddress().getPort()
        + "/repos/" + blob + "/" + sha256 + "?X-Amz-Signature=abc");
    exchange.sendResponseHeaders(302, -1);
  }

  /** The repository if the request may see it at that revision; else the hub's error is sent. */
  private Optional<Repo> access(HttpExchange exchange, String repoId, String revision) throws IOException {
    Repo repo = repos.get(repoId);
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (repo == null) {
      error(exchange, 404, "RepoNotFound", "Repository not found");
      return Optional.empty();
    }
    if (repo.token().isPresent() && !("Bearer " + repo.token().get()).equals(authorization)) {
      error(exchange, 401, "RepoNotFound", "Invalid username or password.");
      return Optional.empty();
    }
    if (!revision.equals("main") && !revision.equals(COMMIT)) {
      error(exchange, 404, "RevisionNotFound", "Invalid rev id: " + revision);
      return Optional.empty();
    }
    return Optional.of(repo);
  }

  private String advertisedSha256(String repo, String path) {
    return claimedSha256.computeIfAbsent(repo + "/" + path, k -> {
      try {
        return sha256(repos.get(repo).files().get(path));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static void error(HttpExchange exchange, int status, String code, String message) throws IOException {
    exchange.getResponseHeaders().add("X-Error-Code", code);
    exchange.getResponseHeaders().add("X-Error-Message", message);
    exchange.sendResponseHeaders(status, -1);
  }

  private static final Pattern BLOB = Pattern.compile("/repos/(\\d+)/[0-9a-f]{64}");
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

  private void handleCdn(HttpExchange exchange) throws IOException {
    Seen seen = new Seen(exchange);
    cdnRequests.add(seen);
    stalled.countDown();
    try (exchange) {
      Matcher blob = BLOB.matcher(exchange.getRequestURI().getRawPath());
      byte[] bytes = blob.matches() ? blobs.get(Integer.parseInt(blob.group(1))) : null;
      if (bytes == null || !exchange.getRequestMethod().equals("GET")) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      int from = 0;
      Matcher range = RANGE.matcher(seen.range.orElse(""));
      if (range.matches() && !ignoreRanges) {
        from = Integer.parseInt(range.group(1));
        if (from >= bytes.length) {
          exchange.getResponseHeaders().add("Content-Range", "bytes */" + bytes.length);
          exchange.sendResponseHeaders(416, -1);
          return;
        }
        exchange.getResponseHeaders().add("Content-Range",
            "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
      }
      exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
      exchange.sendResponseHeaders(from > 0 ? 206 : 200, bytes.length - from);
      long limit = bytes.length - from;
      boolean cut = false;
      boolean stall = false;
      synchronized (this) {
        if (cutResponses > 0) {
          cutResponses--;
          limit = Math.min(limit, cutAfter);
          cut = true;
        } else if (stallAfter >= 0) {
          limit = Math.min(limit, stallAfter);
          stallAfter = -1;
          stall = true;
        }
      }
      OutputStream body = exchange.getResponseBody();
      body.write(bytes, from, (int) limit);
      body.flush();
      seen.bytesSent = limit;
      if (stall) {
        CountDownLatch release = new CountDownLatch(1);
        stalled = release;
        release.await();
      }
      if (cut || stall) {
        // An exception out of the handler makes the server close the connection mid-body.
        throw new IOException("transfer cut on purpose after " + limit + " bytes");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private static String decode(String value) {
    return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
