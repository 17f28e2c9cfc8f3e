package io.sluice.tls;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A small lock-free pool of equal-sized direct buffers shared by the loops of one
 * {@link TlsContext}. Taken once per connection (not per event), so a slot scan with CAS is cheap
 * enough; when empty it allocates, when full a returned buffer is left to the GC.
 */
final class DirectBufferPool {

    private final int bufferBytes;
    private final AtomicReferenceArray<ByteBuffer> slots;
    private final AtomicInteger inUse = new AtomicInteger();

    DirectBufferPool(int bufferBytes, int maxPooled) {
        this.bufferBytes = bufferBytes;
        this.slots = new AtomicReferenceArray<>(maxPooled);
    }

    int bufferBytes() {
        return bufferBytes;
    }

    /** A cleared buffer of {@link #bufferBytes()} capacity; give it back with {@link #release}. */
    ByteBuffer acquire() {
        inUse.incrementAndGet();
        for (int i = 0; i < slots.length(); i++) {
            ByteBuffer buffer = slots.get(i);
            if (buffer != null && slots.compareAndSet(i, buffer, null)) {
                return buffer.clear();
            }
        }
        // Pool empty: a new direct buffer, once per connection at most.
        return ByteBuffer.allocateDirect(bufferBytes);
    }

    void release(ByteBuffer buffer) {
        inUse.decrementAndGet();
        if (buffer.capacity() != bufferBytes || !buffer.isDirect()) {
            return;
        }
        for (int i = 0; i < slots.length(); i++) {
            if (slots.get(i) == null && slots.compareAndSet(i, null, buffer)) {
                return;
            }
        }
    }

    /** Buffers acquired and not yet released: 0 when every layer has closed (leak check). */
    int inUse() {
        return inUse.get();
    }
}
