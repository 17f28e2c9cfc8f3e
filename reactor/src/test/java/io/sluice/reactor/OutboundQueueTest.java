package io.sluice.reactor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

    @Test
    void appendsAcrossBuffersAndReleasesWhatIsConsumed() {
        BufferPool pool = new BufferPool(16, 4);
        OutboundQueue queue = new OutboundQueue(pool);
        byte[] bytes = new byte[40];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        queue.append(bytes, 0, 10);
        queue.append(ByteBuffer.wrap(bytes, 10, 30));
        assertEquals(40, queue.bytes());
        assertEquals(3, pool.outstanding());

        ByteBuffer head = queue.head();
        for (int i = 0; i < 16; i++) {
            assertEquals((byte) i, head.get());
        }
        queue.consumed(16);
        assertEquals(24, queue.bytes());
        assertEquals(2, pool.outstanding());
        assertEquals((byte) 16, queue.head().get(queue.head().position()));

        queue.releaseAll();
        assertEquals(0, queue.bytes());
        assertEquals(0, pool.outstanding());
        assertEquals(3, pool.cached());
        ByteBuffer reused = pool.acquire();
        assertEquals(0, reused.position());
        assertEquals(16, reused.limit());
        pool.release(reused);
        assertEquals(3, pool.allocated(), "reuse, no new allocation");
    }
}
