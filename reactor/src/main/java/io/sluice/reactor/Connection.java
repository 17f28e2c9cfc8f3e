package io.sluice.reactor;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * One TCP connection owned by one {@link EventLoop}. All methods except {@link #loop()} must be
 * called on that loop's thread; implementations assert it.
 *
 * <p>Writes are gathered: {@link #write(ByteBuffer)} copies into the connection's pooled
 * outbound buffers and nothing reaches the socket until {@link #flush()}, which the loop also
 * calls itself after each {@link ConnectionHandler#onRead} so that pipelined replies leave in
 * one write. When more than the high-water mark is queued (a peer that does not read), the
 * connection stops reading until the queue drains.
 */
public interface Connection {

    /** The loop that owns this connection; safe from any thread. */
    EventLoop loop();

    InetSocketAddress remoteAddress();

    InetSocketAddress localAddress();

    /** Queues {@code src}'s remaining bytes for writing, consuming them; never blocks. */
    void write(ByteBuffer src);

    /** Queues {@code length} bytes of {@code src} from {@code offset}; for pre-encoded replies. */
    void write(byte[] src, int offset, int length);

    /** Pushes queued bytes through the stream layer (if any) to the socket as far as it takes them. */
    void flush();

    /**
     * Flushes, then asks the kernel to acknowledge the segments that arrive next at once rather
     * than after its delayed-ACK timer (Linux {@code TCP_QUICKACK}; only a flush where the option
     * is missing). The kernel falls back to delayed ACKs by itself, so call it after each write
     * that several separate replies will answer: a peer that writes each reply on its own with
     * Nagle's algorithm on holds the second until our ACK of the first (40 ms on Linux).
     */
    default void flushAndAckQuickly() {
        flush();
    }

    /** False while the outbound queue is above its high-water mark. */
    boolean isWritable();

    /** Bytes queued for writing and not yet accepted by the socket. */
    long pendingWriteBytes();

    /** Stops delivering {@link ConnectionHandler#onRead} until {@link #resumeRead()}. */
    void suspendRead();

    void resumeRead();

    /**
     * Sets an absolute deadline on the loop's clock ({@link EventLoop#nanoTime()}), replacing any
     * earlier one; {@link ConnectionHandler#onDeadline} fires once when it passes. 0 clears it.
     */
    void deadline(long deadlineNanos);

    /**
     * Drops every plaintext byte received but not yet consumed by the handler, including bytes
     * already decoded by a stream layer. Used when a protocol switch (STARTTLS) makes earlier
     * input untrustworthy.
     */
    void discardInput();

    /**
     * Inserts a stream layer between the socket and the handler. Bytes written before this call
     * are flushed first and leave untransformed; from now on reads are decoded and writes encoded
     * by the layer. At most one layer may be installed.
     */
    void installLayer(StreamLayer layer);

    /** The installed layer, or {@code null}. */
    StreamLayer layer();

    /** Flushes what is queued (bounded by the close deadline) and then closes. Idempotent. */
    void close();

    /** Closes at once, dropping anything queued. Idempotent. */
    void abort();

    boolean isOpen();

    /** An opaque per-connection slot for the protocol, read and written on the loop thread only. */
    Object attachment();

    void attachment(Object attachment);
}
