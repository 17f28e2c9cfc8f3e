package io.sluice.smtp.spool;

import java.util.Arrays;

/**
 * A message being written (by its appender) or being recovered (by the scanner): the segments it
 * touched and its DATA ranges in growable arrays. Confined to one thread.
 */
final class MessageBuilder {
    final QueueId id;
    final Envelope envelope;
    long octets;
    private Segment[] touched = new Segment[2];
    private int touchedCount;
    private Segment[] rangeSegments = new Segment[4];
    private long[] rangeOffsets = new long[4];
    private int[] rangeLengths = new int[4];
    private int rangeCount;

    MessageBuilder(QueueId id, Envelope envelope) {
        this.id = id;
        this.envelope = envelope;
    }

    /** Records that a record of this message lies in {@code s}; true if {@code s} is new to it. */
    boolean touch(Segment s) {
        if (touchedCount > 0 && touched[touchedCount - 1] == s) {
            return false;
        }
        if (touchedCount == touched.length) {
            touched = Arrays.copyOf(touched, touchedCount * 2);
        }
        touched[touchedCount++] = s;
        return true;
    }

    void addRange(Segment s, long offset, int length) {
        if (rangeCount == rangeOffsets.length) {
            int n = rangeCount * 2;
            rangeSegments = Arrays.copyOf(rangeSegments, n);
            rangeOffsets = Arrays.copyOf(rangeOffsets, n);
            rangeLengths = Arrays.copyOf(rangeLengths, n);
        }
        rangeSegments[rangeCount] = s;
        rangeOffsets[rangeCount] = offset;
        rangeLengths[rangeCount] = length;
        rangeCount++;
        octets += length;
    }

    /** Releases one ref on every touched segment (abort or failed commit). */
    void releaseRefs(Spool spool) {
        for (int i = 0; i < touchedCount; i++) {
            spool.release(touched[i]);
        }
        touchedCount = 0;
    }

    /** Trimmed, immutable copy (once per message). */
    StoredMessage build() {
        return new StoredMessage(id, envelope, octets, Arrays.copyOf(touched, touchedCount),
                Arrays.copyOf(rangeSegments, rangeCount), Arrays.copyOf(rangeOffsets, rangeCount),
                Arrays.copyOf(rangeLengths, rangeCount));
    }
}
