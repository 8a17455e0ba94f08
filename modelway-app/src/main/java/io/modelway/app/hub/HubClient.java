package io.modelway.app.hub;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A client of the Hugging Face Hub's HTTP API, or of a mirror of it, for what downloading a model
 * needs: a repository's files ({@code GET /api/models/REPO/tree/REVISION}), one file's metadata
 * ({@code HEAD /REPO/resolve/REVISION/FILE}, read as {@code huggingface_hub} reads it: the SHA-256
 * from {@code X-Linked-Etag}, the size from {@code X-Linked-Size}, the commit from
 * {@code X-Repo-Commit}) and a resumable download ({@link #download}).
 *
 * <p>The token, when there is one, is sent as {@code Authorization: Bearer} to the endpoint's own
 * origin only: a redirect to another host (the hub sends LFS files to a CDN with a signed URL)
 * goes there without it, as {@code requests} does for {@code huggingface_hub}.
 *
 * <p>Thread-safe. Failures are {@link HubException}s whose message is for the user; a download
 * also throws {@link DownloadException}. Metadata fails closed: a file the hub gives no size for
 * is not downloaded, since neither resuming nor the final check could work without it.
 */
public final class HubClient {
  /** The hub itself, used when {@code HF_ENDPOINT} names no mirror. */
  public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration API_TIMEOUT = Duration.ofSeconds(60);
  private static final int MAX_REDIRECTS = 10;
  private static final int MAX_TREE_PAGES = 1000;
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final URI endpoint;
  private final Optional<String> token;
  private final String userAgent;
  private final HttpClient http;

  /**
   * A client of {@code endpoint} (see {@link #parseEndpoint}) that sends {@code token}, if
   * present, to it and identifies itself as {@code userAgent}.
   */
  public HubClient(URI endpoint, Optional<String> token, String userAgent) {
    this.endpoint = parseEndpoint(requireNonNull(endpoint, "endpoint").toString());
    this.token = requireNonNull(token, "token").filter(t -> !t.isBlank()).map(String::strip);
    this.userAgent = requireNonNull(userAgent, "userAgent");
    // HTTP/1.1 as huggingface_hub speaks it: one large file gains nothing from HTTP/2, and an
    // http:// mirror would otherwise be offered an h2c upgrade it may not handle.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(CONNECT_TIMEOUT)
        .build();
  }

  /**
   * Reads an endpoint such as {@code https://huggingface.co} or {@code https://hf-mirror.com}
   * (the value of {@code HF_ENDPOINT}), without a trailing slash; throws
   * {@link IllegalArgumentException} saying what was expected.
   */
  public static URI parseEndpoint(String value) {
    requireNonNull(value, "value");
    String v = value.strip();
    while (v.endsWith("/")) {
      v = v.substring(0, v.length() - 1);
    }
    try {
      URI uri = new URI(v);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null
          && uri.getRawQuery() == null && uri.getRawFragment() == null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    throw new IllegalArgumentException("HF_ENDPOINT: '" + value
        + "' (expected: an http:// or https:// URL such as https://huggingface.co)");
  }

  /** The hub or mirror this client talks to, without a trailing slash. */
  public URI endpoint() {
    return endpoint;
  }

  /** Whether a token is sent. */
  public boolean hasToken() {
    return token.isPresent();
  }

  /**
   * Every file of {@code repo} at {@code revision}, in subdirectories too, in the hub's order,
   * following the listing's pages ({@code Link: <…>; rel="next"}).
   *
   * @throws HubException if the hub refuses, does not know the repository or revision, or
   *     cannot be reached
   */
  public List<HubFile> listFiles(String repo, String revision) {
    requireNonNull(repo, "repo");
    requireNonNull(revision, "revision");
    String what = "the files of " + repo + " at revision '" + revision + "'";
    URI page = URI.create(endpoint + "/api/models/" + repo + "/tree/" + encodeSegment(revision)
        + "?recursive=true");
    List<HubFile> files = new ArrayList<>();
    for (int pages = 0; pages < MAX_TREE_PAGES; pages++) {
      byte[] body;
      HttpResponse<InputStream> r;
      try {
        r = exchange(page, "GET", 0, API_TIMEOUT, false);
        try (InputStream in = r.body()) {
          body = in.readAllBytes();
        }
      } catch (IOException e) {
        throw unreachable(what, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new HubException(HubException.Reason.UNAVAILABLE, "interrupted while listing " + what, e);
      }
      if (r.statusCode() != 200) {
        throw statusError(r, what, repo, revision, null);
      }
      files.addAll(parseTree(body, repo, revision, what));
      Optional<URI> next = nextPage(r.headers(), r.uri());
      if (next.isEmpty()) {
        return List.copyOf(files);
      }
      page = next.get();
    }
    throw new HubException(HubException.Reason.UNAVAILABLE,
        what + ": more than " + MAX_TREE_PAGES + " pages in the hub's listing");
  }

  /**
   * The metadata of {@code path} in {@code repo} at {@code revision}: its size, its SHA-256 when
   * the hub knows it (files in Git LFS), and a download URL pinned to the commit the hub resolved
   * the revision to, so that a branch moving during the download cannot mix two versions.
   *
   * @throws HubException if the hub refuses, does not know the repository, revision or file,
   *     names no size, or cannot be reached
   */
  public HubFile describe(String repo, String revision, String path) {
    requireNonNull(repo, "repo");
    requireNonNull(revision, "revision");
    HubRef.checkFilePath(requireNonNull(path, "path"));
    String what = repo + "/" + path + " at revision '" + revision + "'";
    HttpResponse<InputStream> r;
    try {
      // Like huggingface_hub's get_hf_file_metadata: follow relative redirects (a renamed repo),
      // stop at the redirect to the CDN, whose headers carry the LFS object's metadata.
      r = exchange(resolveUrl(repo, revision, path), "HEAD", 0, API_TIMEOUT, false);
      r.body().close();
    } catch (IOException e) {
      throw unreachable(what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HubException(HubException.Reason.UNAVAILABLE, "interrupted while asking for " + what, e);
    }
    int status = r.statusCode();
    if (status / 100 != 2 && !isRedirect(status)) {
      throw statusError(r, what, repo, revision, path);
    }
    HttpHeaders h = r.headers();
    Optional<String> sha256 = h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag"))
        .flatMap(HubFile::sha256In);
    OptionalLong size = number(h.firstValue("X-Linked-Size"));
    if (size.isEmpty() && status / 100 == 2) {
      size = number(h.firstValue("Content-Length"));
    }
    if (size.isEmpty()) {
      throw new HubException(HubException.Reason.UNAVAILABLE,
          what + ": the hub's answer gives no size (neither X-Linked-Size nor Content-Length)");
    }
    String commit = h.firstValue("X-Repo-Commit")
        .filter(c -> c.matches("[0-9a-f]{40}"))
        .orElse(revision);
    return new HubFile(path, size.getAsLong(), sha256, resolveUrl(repo, commit, path));
  }

  /**
   * Downloads {@code file} to {@code target} through {@code target + ".incomplete"}, resuming
   * from the bytes a broken transfer or an earlier run left there, and checks the result
   * against the file's size and SHA-256 before moving it into place. A {@code target} that
   * already has the hub's size and SHA-256 is left as it is.
   *
   * @throws DownloadException if the transfer failed {@code policy.attempts()} times (the
   *     partial file is kept for the next run), the bytes do not match the hub's metadata (the
   *     partial file is deleted), or the file cannot be written
   * @throws HubException if the hub or its CDN refuses the file
   */
  public DownloadResult download(HubFile file, Path target, DownloadPolicy policy,
      DownloadListener listener) {
    return new FileDownload(this, requireNonNull(file, "file"), requireNonNull(target, "target"),
        requireNonNull(policy, "policy"), requireNonNull(listener, "listener")).run();
  }

  /** {@code ENDPOINT/REPO/resolve/REVISION/PATH}, each part percent-encoded. */
  URI resolveUrl(String repo, String revision, String path) {
    StringBuilder url = new StringBuilder(endpoint.toString()).append('/').append(repo)
        .append("/resolve/").append(encodeSegment(revision));
    for (String part : path.split("/", -1)) {
      url.append('/').append(encodeSegment(part));
    }
    return URI.create(url.toString());
  }

  /**
   * Sends a GET for {@code url} asking for the bytes from {@code from} on (no {@code Range} when
   * 0), following every redirect, and returns the last response with its body unread.
   */
  HttpResponse<InputStream> get(URI url, long from, Duration timeout)
      throws IOException, InterruptedException {
    return exchange(url, "GET", from, timeout, true);
  }

  /** The exception for a response that is not what was asked for, with advice for the user. */
  HubException statusError(HttpResponse<?> r, String what, String repo, String revision,
      @Nullable String path) {
    int status = r.statusCode();
    String code = r.headers().firstValue("X-Error-Code").orElse("");
    String hubSays = r.headers().firstValue("X-Error-Message").map(m -> " The hub says: " + m).orElse("");
    if (code.equals("GatedRepo")) {
      return new HubException(status == 401 ? HubException.Reason.UNAUTHORIZED : HubException.Reason.FORBIDDEN,
          repo + " is gated (HTTP " + status + "): accept its conditions at " + endpoint + "/" + repo
              + (token.isPresent() ? " with the account HF_TOKEN belongs to." : " and set HF_TOKEN to a token of that account.")
              + hubSays);
    }
    switch (status) {
      case 401:
        return new HubException(HubException.Reason.UNAUTHORIZED, token.isPresent()
            ? "The hub refused HF_TOKEN for " + what + " (HTTP 401): check that the token is valid and may read "
                + repo + ", and that the name is right." + hubSays
            : what + " needs a token (HTTP 401): set HF_TOKEN to a Hugging Face access token that may read "
                + repo + ". The hub answers the same for a repository that does not exist, so check the name too."
                + hubSays);
      case 403:
        return new HubException(HubException.Reason.FORBIDDEN, (token.isPresent()
            ? "HF_TOKEN may not read " + what : what + " is not public: set HF_TOKEN")
            + " (HTTP 403)." + hubSays);
      case 404:
        String notFound;
        if (code.equals("RepoNotFound")) {
          notFound = "Repository " + repo + " not found";
        } else if (code.equals("RevisionNotFound")) {
          notFound = "Revision '" + revision + "' not found in " + repo;
        } else if (code.equals("EntryNotFound") && path != null) {
          notFound = "File " + path + " not found in " + repo + " at revision '" + revision + "'";
        } else {
          notFound = "Not found: " + what + " (no such repository, revision or file)";
        }
        return new HubException(HubException.Reason.NOT_FOUND,
            notFound + " on " + endpoint + " (HTTP 404)." + hubSays);
      default:
        return new HubException(HubException.Reason.UNAVAILABLE,
            what + ": HTTP " + status + " from " + r.uri() + "." + hubSays);
    }
  }

  private HubException unreachable(String what, IOException e) {
    return new HubException(HubException.Reason.UNAVAILABLE,
        "Cannot reach " + endpoint + " for " + what + ": " + describe(e), e);
  }

  /**
   * A one-line account of an I/O failure: the innermost message in its causes, the most specific
   * one ({@code EOF reached while reading} under {@code closed}). The JDK's client gives none for
   * an unknown host or a refused connection, which are named from their types.
   */
  static String describe(Throwable e) {
    String message = null;
    Throwable innermost = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      innermost = t;
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        message = t.getMessage();
      }
    }
    if (message != null) {
      return message;
    }
    if (innermost instanceof UnresolvedAddressException) {
      return "cannot resolve the host name";
    }
    if (e instanceof ConnectException) {
      return "cannot connect";
    }
    return innermost.getClass().getSimpleName();
  }

  private HttpResponse<InputStream> exchange(URI url, String method, long from, Duration timeout,
      boolean followAbsolute) throws IOException, InterruptedException {
    URI current = url;
    for (int hop = 0; ; hop++) {
      HttpRequest.Builder request = HttpRequest.newBuilder(current)
          .method(method, HttpRequest.BodyPublishers.noBody())
          .timeout(timeout)
          .header("User-Agent", userAgent)
          .header("Accept-Encoding", "identity");
      if (from > 0) {
        request.header("Range", "bytes=" + from + "-");
      }
      if (token.isPresent() && sameOrigin(current, endpoint)) {
        request.header("Authorization", "Bearer " + token.get());
      }
      HttpResponse<InputStream> r = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      Optional<String> location = r.headers().firstValue("Location");
      if (!isRedirect(r.statusCode()) || location.isEmpty()) {
        return r;
      }
      URI target;
      try {
        target = new URI(location.get());
      } catch (URISyntaxException e) {
        r.body().close();
        throw new IOException("bad redirect from " + current + " to '" + location.get() + "'", e);
      }
      if (!followAbsolute && (target.isAbsolute() || target.getRawAuthority() != null)) {
        return r;
      }
      r.body().close();
      if (hop == MAX_REDIRECTS) {
        throw new IOException("more than " + MAX_REDIRECTS + " redirects from " + url);
      }
      current = current.resolve(target);
    }
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI uri) {
    return uri.getPort() != -1 ? uri.getPort() : uri.getScheme().equalsIgnoreCase("https") ? 443 : 80;
  }

  private List<HubFile> parseTree(byte[] body, String repo, String revision, String what) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JacksonException e) {
      throw new HubException(HubException.Reason.UNAVAILABLE, what + ": the hub's answer is not JSON", e);
    }
    if (!root.isArray()) {
      throw new HubException(HubException.Reason.UNAVAILABLE, what + ": the hub's answer is not a list of files");
    }
    List<HubFile> files = new ArrayList<>();
    for (JsonNode entry : root) {
      if (!entry.path("type").asString("").equals("file")) {
        continue;
      }
      String path = entry.path("path").asString("");
      JsonNode lfs = entry.path("lfs");
      long size = entry.path("size").asLong(-1);
      Optional<String> sha256 = Optional.empty();
      if (lfs.isObject()) {
        size = lfs.path("size").asLong(size);
        sha256 = HubFile.sha256In(lfs.path("oid").asString(""));
      }
      try {
        files.add(new HubFile(path, size, sha256, resolveUrl(repo, revision, HubRef.checkFilePath(path))));
      } catch (IllegalArgumentException e) {
        throw new HubException(HubException.Reason.UNAVAILABLE,
            what + ": the hub listed an invalid file: " + e.getMessage(), e);
      }
    }
    return files;
  }

  /** The {@code rel="next"} target of a {@code Link} header, as the hub pages its listings. */
  private static Optional<URI> nextPage(HttpHeaders headers, URI current) {
    for (String link : headers.allValues("Link")) {
      for (String part : link.split(",")) {
        int open = part.indexOf('<');
        int close = part.indexOf('>', open + 1);
        if (open >= 0 && close > open && part.substring(close).replace(" ", "").contains("rel=\"next\"")) {
          try {
            return Optional.of(current.resolve(new URI(part.substring(open + 1, close).strip())));
          } catch (URISyntaxException e) {
            return Optional.empty();
          }
        }
      }
    }
    return Optional.empty();
  }

  private static OptionalLong number(Optional<String> value) {
    try {
      return value.isPresent() ? OptionalLong.of(Long.parseLong(value.get().strip())) : OptionalLong.empty();
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** Percent-encodes everything but RFC 3986's unreserved characters, so '/' too. */
  static String encodeSegment(String value) {
    StringBuilder out = new StringBuilder();
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~') {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }
}
