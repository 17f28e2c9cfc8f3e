package io.sluice.reactor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Arrays;

/**
 * Bytes waiting to be written, in a chain of pooled direct buffers; loop thread only. Every
 * buffer is kept in read mode (position..limit is pending data); appending writes past the
 * tail's limit with absolute puts, so the chain can be handed to a gathering write as is.
 */
final class OutboundQueue {

    private final BufferPool pool;
    private ByteBuffer[] chain = new ByteBuffer[4];
    private int count;
    private long bytes;

    OutboundQueue(BufferPool pool) {
        this.pool = pool;
    }

    long bytes() {
        return bytes;
    }

    boolean isEmpty() {
        return bytes == 0;
    }

    /** Copies and consumes {@code src}'s remaining bytes. */
    void append(ByteBuffer src) {
        int length = src.remaining();
        int from = src.position();
        while (length > 0) {
            ByteBuffer tail = tailWithRoom();
            int n = Math.min(length, tail.capacity() - tail.limit());
            int at = tail.limit();
            tail.limit(at + n);
            tail.put(at, src, from, n);
            from += n;
            length -= n;
            bytes += n;
        }
        src.position(from);
    }

    void append(byte[] src, int offset, int length) {
        while (length > 0) {
            ByteBuffer tail = tailWithRoom();
            int n = Math.min(length, tail.capacity() - tail.limit());
            int at = tail.limit();
            tail.limit(at + n);
            tail.put(at, src, offset, n);
            offset += n;
            length -= n;
            bytes += n;
        }
    }

    /** One gathering write of the whole chain; returns bytes written. */
    long writeTo(GatheringByteChannel channel) throws IOException {
        long written = channel.write(chain, 0, count);
        bytes -= written;
        dropDrained();
        return written;
    }

    /** The oldest buffer, or null; for a layer's encoder, which consumes it in place. */
    ByteBuffer head() {
        return count == 0 ? null : chain[0];
    }

    /** Accounts for bytes consumed from {@link #head()} by someone else and frees drained buffers. */
    void consumed(long n) {
        bytes -= n;
        dropDrained();
    }

    void releaseAll() {
        for (int i = 0; i < count; i++) {
            pool.release(chain[i]);
            chain[i] = null;
        }
        count = 0;
        bytes = 0;
    }

    private ByteBuffer tailWithRoom() {
        if (count > 0) {
            ByteBuffer tail = chain[count - 1];
            if (tail.limit() < tail.capacity()) {
                return tail;
            }
        }
        if (count == chain.length) {
            // Grows only for a connection that queues far past its high-water mark.
            chain = Arrays.copyOf(chain, count * 2);
        }
        ByteBuffer fresh = pool.acquire();
        fresh.limit(0);
        chain[count++] = fresh;
        return fresh;
    }

    private void dropDrained() {
        int drained = 0;
        while (drained < count && !chain[drained].hasRemaining()) {
            pool.release(chain[drained]);
            drained++;
        }
        if (drained > 0) {
            System.arraycopy(chain, drained, chain, 0, count - drained);
            Arrays.fill(chain, count - drained, count, null);
            count -= drained;
        }
    }
}
