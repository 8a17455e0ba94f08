package io.modelway.gateway.api;

import static java.util.Objects.requireNonNull;

import io.modelway.openai.OpenAiException;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One connection's edge, right behind Netty's HTTP codec: counts its requests in progress for the
 * drain, gives a request head its deadline, marks requests {@code Connection: close} while the
 * server drains, and gives the codec's rejections an OpenAI error body.
 *
 * <ul>
 *   <li>Head deadline: from the first byte read while no request is in progress (seen by
 *       {@link #bytes()}, which sits in front of the codec) until the codec has read the whole
 *       head; past it the client gets a 408 and the connection is closed. A client that trickles
 *       a head a byte at a time (slowloris) holds a connection this long at most.
 *   <li>Codec rejections (bad chunking, a duplicate or negative {@code Content-Length}, one with
 *       {@code Transfer-Encoding}, a request line or headers over the limits) are answered by
 *       Reactor Netty with an empty 400, 414 or 431; that answer gets an OpenAI error body here,
 *       in words that name no library.
 *   <li>Whether the connection waits for a request (none read yet, or none in progress), which
 *       {@link ServerEdge} reads from other threads to pick a connection to close at the cap.
 * </ul>
 *
 * <p>One instance a connection; runs on its event loop only.
 */
final class EdgeHandler extends ChannelDuplexHandler {
  /** Its name in the channel pipeline, behind the codec. */
  static final String NAME = "modelway.edge";
  /** The name of {@link #bytes()}, in front of the codec. */
  static final String BYTES_NAME = "modelway.edgeBytes";

  private final ServerEdge edge;
  private final int maxInitialLine;
  private final int maxHeaders;
  /** Requests read and not yet answered. */
  private int pending;
  /** Whether a request's body is being read. */
  private boolean readingBody;
  /** Whether the response being written is informational (1xx), not the answer. */
  private boolean informational;
  private @Nullable ScheduledFuture<?> headDeadline;
  private @Nullable ChannelHandlerContext context;
  /** No request in progress: its connection may be closed to make room (read off the loop). */
  private volatile boolean waiting = true;
  private volatile boolean closed;
  /**
   * Whether its head timed out: what the codec makes of the rest (a request cut short, once the
   * connection closes) is dropped, not handed on to be answered and logged a second time.
   */
  private boolean timedOut;
  private @Nullable Throwable decoderFailure;
  private final ChannelInboundHandlerAdapter bytes = new ChannelInboundHandlerAdapter() {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (pending == 0 && !readingBody && headDeadline == null) {
        long nanos = edge.options().requestHeadTimeout().toNanos();
        headDeadline = ctx.executor().schedule(EdgeHandler.this::headTimedOut, nanos,
            TimeUnit.NANOSECONDS);
      }
      ctx.fireChannelRead(msg);
    }
  };

  EdgeHandler(ServerEdge edge, int maxInitialLine, int maxHeaders) {
    this.edge = requireNonNull(edge, "edge");
    this.maxInitialLine = maxInitialLine;
    this.maxHeaders = maxHeaders;
  }

  /** The part that sees the connection's bytes, to go in front of the codec. */
  ChannelInboundHandlerAdapter bytes() {
    return bytes;
  }

  /** Whether its connection waits for a request: none read, or none in progress. */
  boolean waiting() {
    return waiting;
  }

  boolean closed() {
    return closed;
  }

  /** Closes its connection, from any thread, to make room for a new one. */
  void evict() {
    ChannelHandlerContext ctx = context;
    if (ctx != null) {
      ctx.channel().close();
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    context = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (timedOut) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof DecoderResultProvider provider && provider.decoderResult().isFailure()) {
      decoderFailure = provider.decoderResult().cause();
    }
    if (msg instanceof HttpRequest request) {
      cancelHeadDeadline();
      pending++;
      waiting = false;
      edge.requestStarted();
      readingBody = !(msg instanceof LastHttpContent);
      if (edge.draining()) {
        HttpUtil.setKeepAlive(request, false);
      }
    } else if (msg instanceof LastHttpContent) {
      readingBody = false;
      waiting = pending == 0;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    Object out = msg;
    if (msg instanceof HttpResponse response) {
      informational = response.status().code() < 200;
      if (decoderFailure != null && msg instanceof FullHttpResponse full
          && response.status().code() >= 400 && full.content().readableBytes() == 0) {
        out = withBody(full, decoderFailure);
        decoderFailure = null;
      }
    }
    if (out instanceof LastHttpContent) {
      if (informational) {
        informational = false;
      } else if (pending > 0) {
        ChannelPromise answered = promise.unvoid();
        answered.addListener(f -> answered());
        ctx.write(out, answered);
        return;
      }
    }
    ctx.write(out, promise);
  }

  private void answered() {
    if (pending > 0) {
      pending--;
      waiting = pending == 0 && !readingBody;
      edge.requestsEnded(1);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closed = true;
    waiting = false;
    cancelHeadDeadline();
    if (pending > 0) {
      edge.requestsEnded(pending);
      pending = 0;
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    closed = true;
    cancelHeadDeadline();
  }

  private void cancelHeadDeadline() {
    if (headDeadline != null) {
      headDeadline.cancel(false);
      headDeadline = null;
    }
  }

  /** Answers 408 and closes, on the context behind the codec, which encodes the answer. */
  private void headTimedOut() {
    headDeadline = null;
    ChannelHandlerContext ctx = context;
    if (ctx == null || !ctx.channel().isActive() || pending > 0) {
      return;
    }
    timedOut = true;
    edge.headTimedOut();
    OpenAiException error = new OpenAiException(408, "invalid_request_error",
        "The request's line and headers did not arrive within "
            + edge.options().requestHeadTimeout().toMillis() + " ms.", null, "request_timeout");
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.REQUEST_TIMEOUT, Unpooled.wrappedBuffer(error.toJson()));
    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    jsonHeaders(response);
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  /** {@code empty}, the codec's rejection, with an OpenAI error body saying why. */
  private FullHttpResponse withBody(FullHttpResponse empty, Throwable failure) {
    int status = empty.status().code();
    OpenAiException error;
    if (status == 414 || failure instanceof TooLongHttpLineException) {
      error = new OpenAiException(status, "invalid_request_error",
          "The request line (method, URL and version) is longer than " + maxInitialLine
              + " bytes.", null, "url_too_long");
    } else if (status == 431 || failure instanceof TooLongHttpHeaderException) {
      error = new OpenAiException(status, "invalid_request_error",
          "The request headers are larger than " + maxHeaders + " bytes.", null,
          "headers_too_large");
    } else {
      error = new OpenAiException(status, "invalid_request_error",
          "The request is not valid HTTP/1.1" + reason(failure), null, "invalid_http");
    }
    FullHttpResponse full = empty.replace(Unpooled.wrappedBuffer(error.toJson()));
    empty.release();
    jsonHeaders(full);
    return full;
  }

  private static void jsonHeaders(FullHttpResponse response) {
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
  }

  /**
   * The codec's words for what is wrong (": Invalid chunk size", say), when they name no class;
   * else none.
   */
  private static String reason(Throwable failure) {
    String message = failure.getMessage();
    if (message == null || message.isBlank() || message.contains("io.netty")
        || message.contains("java.") || message.contains("Exception")) {
      return ".";
    }
    String line = message.lines().findFirst().orElse("").strip();
    if (line.length() > 200) {
      line = line.substring(0, 200) + "…";
    }
    return ": " + line + (line.endsWith(".") ? "" : ".");
  }
}
