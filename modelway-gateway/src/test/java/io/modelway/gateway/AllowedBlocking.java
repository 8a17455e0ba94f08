package io.modelway.gateway;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * What BlockHound lets the event loops do in the gateway's tests, each with why it is not
 * blocking work: Lettuce guards its command queue with a lock held only while a writer count
 * changes, so a contended acquire waits for nanoseconds, not for I/O (every reactive Redis
 * client on Netty dispatches commands from event loops this way). Netty's adaptive allocator,
 * when its magazines are contended, grows their array and frees the old magazines under a
 * {@code StampedLock} that guards only that swap (no I/O); Armeria allows it for the same reason
 * (line/armeria#6344). Hundreds of concurrent calls over three gateways in one JVM reach it.
 * An io_uring event loop that shuts down spins ({@code Thread.onSpinWait}) in its last clean-up
 * until its ring's wake-up gate closes: once, when the loop ends, never while it serves (seen
 * since the loops close without a quiet period, as the gateway's shutdown now has them do).
 */
public final class AllowedBlocking implements BlockHoundIntegration {
  @Override
  public void applyTo(BlockHound.Builder builder) {
    builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "incrementWriters");
    builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "decrementWriters");
    builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup",
        "tryExpandMagazines");
    builder.allowBlockingCallsInside("io.netty.channel.uring.IoUringIoHandler", "closeWakeupGate");
  }
}
