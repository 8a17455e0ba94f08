package io.modelway.gateway.api;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Carries out a request's {@code Connection: close} itself, between Netty's HTTP codec and
 * Reactor Netty's server handler: the request goes on as a keep-alive one, its answer is marked
 * {@code Connection: close}, and the connection is closed once that answer is written; requests a
 * client sent after it on the same connection are dropped unread, as HTTP/1.1 says they must be.
 *
 * <p>Why: Reactor Netty (1.3.8) takes a request's close as the connection's state the moment it
 * reads it. When the request waits behind one still being answered (pipelined, or read before the
 * previous answer's write completed, which on io_uring is every pipelined request), it marks the
 * earlier answer to close the connection instead, or never dispatches the waiting request at all:
 * the client waits forever (KeepAliveTest, GatewayAuthTest). Here the server sees only keep-alive
 * requests, so requests are answered in order and the close comes after the right answer.
 *
 * <p>One instance a connection; runs on its event loop only.
 */
final class ConnectionCloseHandler extends ChannelDuplexHandler {
  /** Its name in the channel pipeline. */
  static final String NAME = "modelway.connectionClose";

  private long requests;
  private long answers;
  /** The number of the request that asked to close the connection; 0 while none has. */
  private long closeAfter;
  /** Whether the answer being written is the last one before the close. */
  private boolean closing;
  /** Whether the body of a request read after the close is being dropped. */
  private boolean dropping;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      if (closeAfter != 0) {
        dropping = !(msg instanceof LastHttpContent);
        ReferenceCountUtil.release(msg);
        return;
      }
      requests++;
      if (!HttpUtil.isKeepAlive(request)) {
        closeAfter = requests;
        HttpUtil.setKeepAlive(request, true);
      }
    } else if (dropping && msg instanceof HttpContent) {
      dropping = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse response && response.status().code() >= 200) {
      answers++;
      if (answers == closeAfter) {
        closing = true;
        HttpUtil.setKeepAlive(response, false);
      }
    }
    if (closing && msg instanceof LastHttpContent) {
      closing = false;
      ctx.write(msg, promise.unvoid()).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ctx.write(msg, promise);
  }
}
