package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads a segment file record by record through one reusable direct window, verifying each
 * record's framing and CRC32C, and stops at the first record that is torn or corrupt. Used by
 * recovery on the opening thread only.
 */
final class SegmentScanner {
    /** What the scan found in one valid record; payload is given for BEGIN and COMMIT only. */
    interface Visitor {
        void record(byte type, QueueId id, long payloadOffset, int length, ByteBuffer payload);
    }

    /** Returned by {@link #scan} when the file does not start with a segment header. */
    static final long NOT_A_SEGMENT = -1;

    private static final int WINDOW_BYTES = SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES + (64 << 10);

    private final ByteBuffer window = ByteBuffer.allocateDirect(WINDOW_BYTES);
    private final CRC32C crc = new CRC32C();
    private FileChannel channel;
    private long windowStart;
    private int salt;
    private int loopIndex;

    /**
     * Visits every valid record of segment {@code seq} of loop {@code loopIndex} and returns the
     * offset where the valid prefix ends (the file size if nothing is torn or left over from a
     * recycled file's previous life), 0 if even the header is incomplete, or {@link #NOT_A_SEGMENT}.
     */
    long scan(FileChannel ch, int loopIndex, long seq, Visitor visitor) throws IOException {
        channel = ch;
        windowStart = 0;
        window.clear().limit(0);
        long size = ch.size();
        if (!ensure(0, SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED)) {
            return 0;
        }
        int version = window.getInt(8);
        if (window.getLong(0) != SpoolRecord.SEGMENT_MAGIC || window.getInt(12) != loopIndex
                || (version != SpoolRecord.SEGMENT_VERSION && version != SpoolRecord.SEGMENT_VERSION_UNSALTED)) {
            return NOT_A_SEGMENT;
        }
        long pos = SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED;
        long nonce = 0;
        if (version == SpoolRecord.SEGMENT_VERSION) {
            if (!ensure(0, SpoolRecord.SEGMENT_HEADER_BYTES)) {
                return 0;
            }
            nonce = window.getLong(SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED);
            pos = SpoolRecord.SEGMENT_HEADER_BYTES;
        }
        salt = SpoolRecord.crcSalt(version, nonce, seq);
        this.loopIndex = loopIndex;
        while (pos + SpoolRecord.HEADER_BYTES <= size) {
            long next = scanRecord(pos, size, visitor);
            if (next < 0) {
                break;
            }
            pos = next;
        }
        return pos;
    }

    /** Verifies and visits the record at {@code pos}; returns the next offset, or -1 if invalid. */
    private long scanRecord(long pos, long size, Visitor visitor) throws IOException {
        if (!ensure(pos, SpoolRecord.HEADER_BYTES)) {
            return -1;
        }
        int at = (int) (pos - windowStart);
        byte type = window.get(at);
        int length = window.getInt(at + 4);
        long id = window.getLong(at + 8);
        int storedCrc = window.getInt(at + SpoolRecord.CRC_OFFSET);
        if (!plausible(type, window.get(at + 1), window.getShort(at + 2), length)
                || pos + SpoolRecord.HEADER_BYTES + length > size
                || QueueId.loopIndexOf(id) != loopIndex) { // only this loop mints ids here
            return -1;
        }
        crc.reset();
        boolean inWindow = type == SpoolRecord.BEGIN || type == SpoolRecord.COMMIT;
        if (inWindow) {
            if (!ensure(pos, SpoolRecord.HEADER_BYTES + length)) {
                return -1;
            }
            at = (int) (pos - windowStart);
            update(at, SpoolRecord.CRC_OFFSET);
            update(at + SpoolRecord.HEADER_BYTES, length);
        } else {
            update(at, SpoolRecord.CRC_OFFSET);
            if (!crcStreamed(pos + SpoolRecord.HEADER_BYTES, length)) {
                return -1;
            }
        }
        if (((int) crc.getValue() ^ salt) != storedCrc) {
            return -1;
        }
        ByteBuffer payload = null;
        if (inWindow) {
            int start = (int) (pos - windowStart) + SpoolRecord.HEADER_BYTES;
            payload = window.duplicate(); // recovery only: one small view per BEGIN/COMMIT
            payload.limit(start + length).position(start);
        }
        visitor.record(type, QueueId.of(id), pos + SpoolRecord.HEADER_BYTES, length, payload);
        return pos + SpoolRecord.HEADER_BYTES + length;
    }

    private static boolean plausible(byte type, byte magic, short reserved, int length) {
        if (!SpoolRecord.isType(type) || magic != SpoolRecord.MAGIC || reserved != 0 || length < 0) {
            return false;
        }
        switch (type) {
            case SpoolRecord.BEGIN:
                return length <= SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES;
            case SpoolRecord.DATA:
                return length <= SpoolRecord.MAX_PAYLOAD_BYTES;
            case SpoolRecord.COMMIT:
                return length == SpoolRecord.COMMIT_PAYLOAD_BYTES;
            default:
                return length == 0;
        }
    }

    private boolean crcStreamed(long offset, int length) throws IOException {
        long pos = offset;
        int left = length;
        while (left > 0) {
            int n = Math.min(left, WINDOW_BYTES);
            if (!ensure(pos, n)) {
                return false;
            }
            update((int) (pos - windowStart), n);
            pos += n;
            left -= n;
        }
        return true;
    }

    private void update(int at, int length) {
        int limit = window.limit();
        window.limit(at + length).position(at);
        crc.update(window);
        window.limit(limit).position(0);
    }

    /** Makes {@code [offset, offset+length)} of the file available in the window. */
    private boolean ensure(long offset, int length) throws IOException {
        if (offset >= windowStart && offset + length <= windowStart + window.limit()) {
            return true;
        }
        windowStart = offset;
        window.clear();
        while (window.position() < length) {
            if (channel.read(window, windowStart + window.position()) < 0) {
                break;
            }
        }
        window.flip();
        return window.limit() >= length;
    }
}
