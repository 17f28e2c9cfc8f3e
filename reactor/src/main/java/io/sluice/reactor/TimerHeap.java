package io.sluice.reactor;

import java.util.Arrays;

/**
 * A binary min-heap of {@link LoopTimer}s keyed by deadline; loop thread only.
 *
 * <p>Why a heap rather than a hashed wheel: deadlines here are exact (a test's manual clock
 * advances to the nanosecond and expects the timer to fire), the select timeout needs the
 * nearest deadline in O(1) ({@link #nextKeyNanos()}), and there is no tick to drive. The usual
 * cost of a heap, re-filing on every reset of an idle timeout, is avoided by connections
 * re-arming lazily: pushing a deadline later leaves the entry where it is, and when it expires
 * early the connection files it again under the later deadline (see {@code NioConnection}).
 * Deadlines are compared as {@code a - b < 0} so that {@code nanoTime} wrap-around is harmless.
 */
final class TimerHeap {

    private LoopTimer[] heap = new LoopTimer[64];
    private int size;

    int size() {
        return size;
    }

    void add(LoopTimer timer, long deadlineNanos) {
        assert !timer.isQueued() : "already queued";
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        timer.timerKeyNanos = deadlineNanos;
        heap[size] = timer;
        timer.heapIndex = size;
        siftUp(size++);
    }

    /** Moves a queued timer to an earlier deadline. */
    void decreaseKey(LoopTimer timer, long deadlineNanos) {
        assert timer.isQueued() && deadlineNanos - timer.timerKeyNanos <= 0;
        timer.timerKeyNanos = deadlineNanos;
        siftUp(timer.heapIndex);
    }

    void remove(LoopTimer timer) {
        int index = timer.heapIndex;
        if (index < 0) {
            return;
        }
        timer.heapIndex = -1;
        LoopTimer last = heap[--size];
        heap[size] = null;
        if (index != size) {
            heap[index] = last;
            last.heapIndex = index;
            siftDown(index);
            siftUp(last.heapIndex);
        }
    }

    /** The earliest timer, or null. */
    LoopTimer peek() {
        return size == 0 ? null : heap[0];
    }

    /** The earliest deadline, or {@link Long#MAX_VALUE} when empty. */
    long nextKeyNanos() {
        return size == 0 ? Long.MAX_VALUE : heap[0].timerKeyNanos;
    }

    LoopTimer poll() {
        LoopTimer first = peek();
        if (first != null) {
            remove(first);
        }
        return first;
    }

    private void siftUp(int index) {
        LoopTimer timer = heap[index];
        while (index > 0) {
            int parent = (index - 1) >>> 1;
            LoopTimer above = heap[parent];
            if (above.timerKeyNanos - timer.timerKeyNanos <= 0) {
                break;
            }
            place(above, index);
            index = parent;
        }
        place(timer, index);
    }

    private void siftDown(int index) {
        LoopTimer timer = heap[index];
        int half = size >>> 1;
        while (index < half) {
            int child = 2 * index + 1;
            int right = child + 1;
            if (right < size && heap[right].timerKeyNanos - heap[child].timerKeyNanos < 0) {
                child = right;
            }
            if (timer.timerKeyNanos - heap[child].timerKeyNanos <= 0) {
                break;
            }
            place(heap[child], index);
            index = child;
        }
        place(timer, index);
    }

    private void place(LoopTimer timer, int index) {
        heap[index] = timer;
        timer.heapIndex = index;
    }
}
