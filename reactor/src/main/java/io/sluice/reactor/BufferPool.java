package io.sluice.reactor;

import java.nio.ByteBuffer;

/**
 * Fixed-size direct buffers owned by one {@link EventLoop}: loop thread only, no locks. Up to
 * {@code maxCached} released buffers are kept for reuse; beyond that they are dropped to the GC
 * (direct memory is freed when the buffer is collected). {@link #outstanding()} counts buffers
 * acquired and not yet released, which tests use as a leak check.
 */
public final class BufferPool {

    private final int bufferBytes;
    private final ByteBuffer[] cache;
    private int cached;
    private int outstanding;
    private long allocated;

    public BufferPool(int bufferBytes, int maxCached) {
        if (bufferBytes <= 0) {
            throw new IllegalArgumentException("bufferBytes=" + bufferBytes + " <= 0");
        }
        this.bufferBytes = bufferBytes;
        this.cache = new ByteBuffer[maxCached];
    }

    /** A cleared buffer of {@link #bufferBytes()} capacity, from the cache or newly allocated. */
    public ByteBuffer acquire() {
        outstanding++;
        if (cached > 0) {
            ByteBuffer buffer = cache[--cached];
            cache[cached] = null;
            return buffer;
        }
        allocated++;
        // Allocation only when the cache is empty: the pool warms up to the loop's working set.
        return ByteBuffer.allocateDirect(bufferBytes);
    }

    /** Returns a buffer obtained from {@link #acquire()}; the caller must not touch it again. */
    public void release(ByteBuffer buffer) {
        assert buffer.capacity() == bufferBytes && buffer.isDirect() : "foreign buffer " + buffer;
        outstanding--;
        assert outstanding >= 0 : "double release";
        if (cached < cache.length) {
            buffer.clear();
            cache[cached++] = buffer;
        }
    }

    public int bufferBytes() {
        return bufferBytes;
    }

    /** Buffers acquired and not yet released; read racily from other threads. */
    public int outstanding() {
        return outstanding;
    }

    /** Buffers waiting in the cache. */
    public int cached() {
        return cached;
    }

    /** Buffers ever allocated by this pool. */
    public long allocated() {
        return allocated;
    }
}
