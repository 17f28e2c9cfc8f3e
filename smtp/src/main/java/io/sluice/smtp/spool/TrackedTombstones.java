package io.sluice.smtp.spool;

import java.util.Arrays;

/**
 * The server's memory of the tombstones in {@code deleted.log}: per tombstoned id, the range of
 * segment keys ({@link Segment#key}) its message's records lie in. A tombstone is needed only
 * while some segment file in that range is still on disk; once none is, recovery cannot rebuild
 * the message and the tombstone may go. Parallel primitive arrays grown by doubling: adding costs
 * no allocation (amortised). Confined to the {@link DeletionJournal}'s monitor.
 */
final class TrackedTombstones {
    private long[] ids = new long[64];
    private long[] firstKeys = new long[64];
    private long[] lastKeys = new long[64];
    private int size;

    /** Remembers the tombstone of a message whose records lie in {@code segments}. */
    void add(long id, Segment[] segments) {
        if (segments.length == 0) {
            return; // no record on disk: nothing for a tombstone to hide
        }
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (Segment s : segments) {
            first = Math.min(first, s.key());
            last = Math.max(last, s.key());
        }
        add(id, first, last);
    }

    /** No segment key is negative: marks a tombstone {@link #retainOnDisk} keeps whatever is on disk. */
    private static final long PINNED = -1;

    /** Remembers a tombstone needed whatever segment files are on disk (until the next start). */
    void pin(long id) {
        add(id, PINNED, PINNED);
    }

    /** Remembers a tombstone needed while any segment with a key in {@code firstKey..lastKey} is on disk. */
    void add(long id, long firstKey, long lastKey) {
        long first = firstKey;
        long last = lastKey;
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
            firstKeys = Arrays.copyOf(firstKeys, size * 2);
            lastKeys = Arrays.copyOf(lastKeys, size * 2);
        }
        ids[size] = id;
        firstKeys[size] = first;
        lastKeys[size] = last;
        size++;
    }

    /** Forgets every tombstone none of whose segments is in {@code sortedKeysOnDisk}; keeps the order. */
    void retainOnDisk(long[] sortedKeysOnDisk) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            if (firstKeys[i] == PINNED || anyBetween(sortedKeysOnDisk, firstKeys[i], lastKeys[i])) {
                ids[kept] = ids[i];
                firstKeys[kept] = firstKeys[i];
                lastKeys[kept] = lastKeys[i];
                kept++;
            }
        }
        size = kept;
        if (ids.length > 64 && size < ids.length / 4) {
            // After a burst: give the memory back, keeping room to double.
            int capacity = Math.max(64, size * 2);
            ids = Arrays.copyOf(ids, capacity);
            firstKeys = Arrays.copyOf(firstKeys, capacity);
            lastKeys = Arrays.copyOf(lastKeys, capacity);
        }
    }

    private static boolean anyBetween(long[] sorted, long first, long last) {
        int at = Arrays.binarySearch(sorted, first);
        if (at >= 0) {
            return true;
        }
        int next = -at - 1;
        return next < sorted.length && sorted[next] <= last;
    }

    int size() {
        return size;
    }

    long id(int i) {
        return ids[i];
    }
}
