package io.sluice.reactor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TimerHeapTest {

    static final class Entry extends LoopTimer {
        @Override
        void expire(long nowNanos) {
        }
    }

    @Test
    void pollsInDeadlineOrderAcrossRemovalsAndDecreases() {
        TimerHeap heap = new TimerHeap();
        Random random = new Random(42);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            Entry e = new Entry();
            heap.add(e, random.nextInt(1_000_000));
            entries.add(e);
        }
        for (int i = 0; i < 100; i++) {
            heap.remove(entries.get(i));
            assertFalse(entries.get(i).isQueued());
        }
        for (int i = 100; i < 200; i++) {
            Entry e = entries.get(i);
            heap.decreaseKey(e, e.timerKeyNanos / 2);
        }
        assertEquals(400, heap.size());
        long last = Long.MIN_VALUE;
        LoopTimer t;
        int polled = 0;
        while ((t = heap.poll()) != null) {
            assertFalse(t.timerKeyNanos < last, "out of order");
            last = t.timerKeyNanos;
            polled++;
        }
        assertEquals(400, polled);
        assertNull(heap.peek());
        assertEquals(Long.MAX_VALUE, heap.nextKeyNanos());
    }

    @Test
    void ordersAcrossNanoTimeWrapAround() {
        TimerHeap heap = new TimerHeap();
        Entry late = new Entry();
        Entry early = new Entry();
        heap.add(late, Long.MIN_VALUE + 10); // just past the wrap
        heap.add(early, Long.MAX_VALUE - 10);
        assertEquals(early, heap.poll());
        assertEquals(late, heap.poll());
    }
}
