package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads a segment file record by record through one reusable direct window, verifying each
 * record's framing and CRC32C, and stops at the first record that is torn or corrupt, unless
 * (format 4) a valid SYNCED record behind it proves that record had been fsynced: then it skips
 * the damaged range and goes on (see {@link #resumeAfterDamage}). Used by recovery on the
 * opening thread only.
 */
final class SegmentScanner {
    /** What the scan found in one valid record; payload is given for BEGIN and COMMIT only. */
    interface Visitor {
        /** A valid record; SYNCED records are visited too (with their payload). */
        void record(byte type, QueueId id, long payloadOffset, int length, ByteBuffer payload);

        /**
         * The records in {@code [from, to)} are damaged, and a SYNCED record behind them proves
         * they had been fsynced: the scan skips them and goes on at {@code to}.
         */
        default void damaged(long from, long to) {
        }
    }

    /** Returned by {@link #scan} when the file does not start with a segment header. */
    static final long NOT_A_SEGMENT = -1;
    /**
     * Returned by {@link #scan} when the header is a segment's but names another loop, or (version
     * 3) another segment number, than the file name: see {@link #headerName()}.
     */
    static final long RENAMED = -2;

    private static final int WINDOW_BYTES = SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES + (64 << 10);
    /**
     * CRC octets a resync may spend on candidate records that turn out invalid, per damaged range:
     * message content may frame fake headers (with a length reaching far: a DATA's streamed, a
     * BEGIN's up to 1 MiB in the window) every few bytes, and each costs a CRC over its length.
     * Past it the scan resumes at the SYNCED record that gave the evidence, the first record after
     * the damage known valid.
     */
    static final long RESYNC_CRC_BUDGET_BYTES = 256L << 20;

    private final ByteBuffer window = ByteBuffer.allocateDirect(WINDOW_BYTES);
    private final CRC32C crc = new CRC32C();
    private FileChannel channel;
    private long windowStart;
    private int salt;
    private int loopIndex;
    private int version;
    private long headerBytes;
    private int headerLoop;
    private long headerSeq;
    /** The last record {@link #recordEnd} passed. */
    private byte recordType;
    private int recordLength;
    private long recordId;
    /** Octets run through the CRC so far by this scanner (every scan): what a resync's budget charges. */
    private long crcOctets;
    /**
     * Offsets of the valid SYNCED records behind the first damage of the file, ascending, and
     * the highest offset they prove durable; found once per damaged file, on the rare path.
     */
    private long[] syncedAt = new long[0];
    private int syncedCount;
    private long provenDurable;
    private boolean evidenceRead;

    /**
     * Visits every valid record of segment {@code seq} of loop {@code loopIndex} and returns the
     * offset where the valid prefix ends (the file size if nothing is torn or left over from a
     * recycled file's previous life), 0 if even the header is incomplete, {@link #NOT_A_SEGMENT}
     * or {@link #RENAMED} (then no record is visited).
     */
    long scan(FileChannel ch, int loopIndex, long seq, Visitor visitor) throws IOException {
        channel = ch;
        windowStart = 0;
        window.clear().limit(0);
        long size = ch.size();
        this.loopIndex = loopIndex;
        long pos = readHeader(loopIndex, seq);
        if (pos <= 0) {
            return pos;
        }
        syncedCount = 0;
        provenDurable = 0;
        evidenceRead = false;
        while (pos + SpoolRecord.HEADER_BYTES <= size) {
            long next = scanRecord(pos, size, visitor);
            if (next < 0) {
                next = pos > headerBytes ? resumeAfterDamage(pos, size) : -1;
                if (next < 0) {
                    break;
                }
                visitor.damaged(pos, next);
            }
            pos = next;
        }
        return pos;
    }

    /**
     * The record at {@code damaged} (not the file's first) is invalid. If a valid SYNCED record
     * anywhere behind it proves an fdatasync covered it, it is damage in data that may hold
     * acknowledged mail (a torn write never lies before a completed fsync's end): returns where
     * the scan goes on: the first offset after it that frames a valid record under the file's salt
     * followed by another valid record or by the SYNCED record that gave the evidence (see
     * {@link #resyncPoint}), else that SYNCED record. Else -1: a torn write,
     * cut there as before. Format 4 only (older files have no SYNCED records). Rare path: reads
     * the rest of the file once for the evidence, and the damaged range byte by byte.
     */
    private long resumeAfterDamage(long damaged, long size) throws IOException {
        if (version < SpoolRecord.SEGMENT_VERSION) {
            return -1;
        }
        if (!evidenceRead) {
            readEvidence(damaged + 1, size);
            evidenceRead = true;
        }
        if (provenDurable <= damaged) {
            return -1;
        }
        long anchor = firstSyncedAfter(damaged);
        long budgetEnd = crcOctets + RESYNC_CRC_BUDGET_BYTES;
        for (long pos = damaged + 1; pos < anchor; pos++) {
            if (!ensure(pos, SpoolRecord.HEADER_BYTES)) {
                break;
            }
            int at = (int) (pos - windowStart);
            if (window.get(at + 1) != SpoolRecord.MAGIC) {
                continue;
            }
            // A valid record never crosses the start of another (the anchor): bounds every candidate.
            if (resyncPoint(pos, anchor)) {
                return pos;
            }
            if (crcOctets > budgetEnd) { // every candidate framed well enough to be checked costs
                break;
            }
        }
        return anchor;
    }

    /**
     * Whether the scan may go on at {@code pos}: a valid record there that ends at {@code anchor}
     * (the SYNCED record known valid) or is followed by another valid record. Message content in a
     * damaged range frames tens of thousands of candidates per MiB and each passes the salted CRC
     * by a 2^-32 guess; a forged record (an ABORT cancelling acknowledged mail) then needs two
     * such guesses in a row, 2^-64 per candidate.
     */
    private boolean resyncPoint(long pos, long anchor) throws IOException {
        long next = recordEnd(pos, anchor, true);
        return next >= 0 && (next == anchor || recordEnd(next, anchor, true) >= 0);
    }

    /**
     * Collects the valid SYNCED records in {@code [from, size)} (their framing and CRC under the
     * file's salt; one whose claim lies beyond its own offset is ignored: no fsync can have
     * covered bytes not yet written) and the highest offset they prove durable.
     */
    private void readEvidence(long from, long size) throws IOException {
        for (long pos = from; pos + SpoolRecord.SYNCED_RECORD_BYTES <= size; pos++) {
            if (!ensure(pos, SpoolRecord.SYNCED_RECORD_BYTES)) {
                break;
            }
            int at = (int) (pos - windowStart);
            if (window.get(at) != SpoolRecord.SYNCED || window.get(at + 1) != SpoolRecord.MAGIC) {
                continue; // the cheap test first
            }
            if (recordEnd(pos, size, true) < 0) {
                continue;
            }
            long claimed = window.getLong((int) (pos - windowStart) + SpoolRecord.HEADER_BYTES);
            if (claimed <= pos) {
                provenDurable = Math.max(provenDurable, claimed);
                if (syncedCount == syncedAt.length) {
                    syncedAt = java.util.Arrays.copyOf(syncedAt, Math.max(8, syncedCount * 2)); // rare path
                }
                syncedAt[syncedCount++] = pos;
            }
        }
    }

    /** The offset of the first valid SYNCED record after {@code offset}; one exists when called. */
    private long firstSyncedAfter(long offset) {
        for (int i = 0; i < syncedCount; i++) {
            if (syncedAt[i] > offset) {
                return syncedAt[i];
            }
        }
        throw new IllegalStateException("no SYNCED record after offset " + offset);
    }

    /** Tests: the octets this scanner has run through the CRC, over every scan so far. */
    long crcOctets() {
        return crcOctets;
    }

    /** Checks the header against the name; returns where records start, 0, NOT_A_SEGMENT or RENAMED. */
    private long readHeader(int loopIndex, long seq) throws IOException {
        if (!ensure(0, SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED)) {
            return 0;
        }
        version = window.getInt(8);
        headerLoop = window.getInt(12);
        headerSeq = seq;
        if (window.getLong(0) != SpoolRecord.SEGMENT_MAGIC || version < SpoolRecord.SEGMENT_VERSION_UNSALTED
                || version > SpoolRecord.SEGMENT_VERSION) { // a newer build's file: quarantined, never cut
            return NOT_A_SEGMENT;
        }
        headerBytes = SpoolRecord.recordsSeq(version) ? SpoolRecord.SEGMENT_HEADER_BYTES
                : version == SpoolRecord.SEGMENT_VERSION_NAME_SALTED ? SpoolRecord.SEGMENT_HEADER_BYTES_NAME_SALTED
                : SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED;
        if (!ensure(0, (int) headerBytes)) {
            return 0;
        }
        long nonce = version == SpoolRecord.SEGMENT_VERSION_UNSALTED ? 0 : window.getLong(16);
        if (SpoolRecord.recordsSeq(version)) {
            headerSeq = window.getLong(24);
        }
        if (headerLoop != loopIndex || headerSeq != seq) {
            return RENAMED;
        }
        salt = SpoolRecord.crcSalt(version, nonce, seq);
        return headerBytes;
    }

    /**
     * After {@link #RENAMED}: the name the header gives the file ({@code LL-SSSSSSSSSSSS.seg}; only
     * the loop for a version before 3, which does not record its number).
     */
    String headerName() {
        return SpoolRecord.recordsSeq(version) ? Segment.fileName(headerLoop, headerSeq)
                : String.format(java.util.Locale.ROOT, "%02d-<unknown>.seg", headerLoop);
    }

    /** After {@link #RENAMED}: the loop the header names. */
    int headerLoop() {
        return headerLoop;
    }

    /** After {@link #RENAMED}: the segment number the header names, or -1 before format 3 (none recorded). */
    long headerSeq() {
        return SpoolRecord.recordsSeq(version) ? headerSeq : -1;
    }

    /** After a scan that returned {@code validEnd}: whether its first record already failed. */
    boolean stoppedAtFirstRecord(long validEnd) {
        return validEnd > 0 && validEnd == headerBytes;
    }

    /**
     * After a scan that stopped at the first record: why the file must be kept as it is, or null
     * when nothing after the header can have been acknowledged, so cutting it loses nothing. An
     * acknowledged message's records were fsynced, and an fsync covers every earlier write to the
     * file, the first record included: a valid record anywhere after a bad first one means
     * damage or a foreign file, never a torn write. So: versions 1 and 3 are cut only if no record
     * valid under the file's own salt (nonce and number from its header) lies anywhere after the
     * header, which covers a fresh file's torn first write and a recycled file's (its old records
     * carry the previous life's nonce); version 2 cannot tell a renamed file from a recycled one
     * (its salt comes from the name), so it is cut only if nothing after the header even looks
     * like a whole record. Reads up to the whole file, once, on this rare path.
     */
    String reasonToKeep(long size) throws IOException {
        boolean verifyCrc = version != SpoolRecord.SEGMENT_VERSION_NAME_SALTED;
        for (long pos = headerBytes; pos + SpoolRecord.HEADER_BYTES <= size; pos++) {
            if (!ensure(pos, SpoolRecord.HEADER_BYTES)) {
                break;
            }
            if (window.get((int) (pos - windowStart) + 1) != SpoolRecord.MAGIC) {
                continue; // the cheap test first: most offsets of old content fail it
            }
            if (recordEnd(pos, size, verifyCrc) >= 0) {
                return verifyCrc
                        ? "its first record is invalid but a valid record follows at offset " + pos
                                + " (damaged inside, not a torn write)"
                        : "its first record fails its CRC but a whole record lies at offset " + pos
                                + ": a format-2 file renamed, restored or copied under another number"
                                + " (format 2 does not record its own), or damaged";
            }
        }
        return null;
    }

    /** Verifies and visits the record at {@code pos}; returns the next offset, or -1 if invalid. */
    private long scanRecord(long pos, long size, Visitor visitor) throws IOException {
        long next = recordEnd(pos, size, true);
        if (next < 0) {
            return -1;
        }
        ByteBuffer payload = null;
        if (recordType == SpoolRecord.BEGIN || recordType == SpoolRecord.COMMIT
                || recordType == SpoolRecord.SYNCED) { // still in the window
            int start = (int) (pos - windowStart) + SpoolRecord.HEADER_BYTES;
            payload = window.duplicate(); // recovery only: one small view per BEGIN/COMMIT
            payload.limit(start + recordLength).position(start);
        }
        visitor.record(recordType, QueueId.of(recordId), pos + SpoolRecord.HEADER_BYTES, recordLength, payload);
        return next;
    }

    /**
     * Checks the framing of the record at {@code pos} (and its CRC if {@code verifyCrc}); returns
     * the next offset, or -1 if invalid. Leaves the record's type, length and id in fields and a
     * valid BEGIN or COMMIT whole in the window.
     */
    private long recordEnd(long pos, long size, boolean verifyCrc) throws IOException {
        if (!ensure(pos, SpoolRecord.HEADER_BYTES)) {
            return -1;
        }
        int at = (int) (pos - windowStart);
        byte type = window.get(at);
        int length = window.getInt(at + 4);
        long id = window.getLong(at + 8);
        int storedCrc = window.getInt(at + SpoolRecord.CRC_OFFSET);
        if (!plausible(type, version, window.get(at + 1), window.getShort(at + 2), length)
                || pos + SpoolRecord.HEADER_BYTES + length > size
                || QueueId.loopIndexOf(id) != loopIndex) { // only this loop mints ids here
            return -1;
        }
        long next = pos + SpoolRecord.HEADER_BYTES + length;
        if (!verifyCrc) {
            return next;
        }
        crc.reset();
        if (type != SpoolRecord.DATA) { // small: whole in the window
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
        recordType = type;
        recordLength = length;
        recordId = id;
        return ((int) crc.getValue() ^ salt) == storedCrc ? next : -1;
    }

    private static boolean plausible(byte type, int version, byte magic, short reserved, int length) {
        if (!SpoolRecord.isType(type, version) || magic != SpoolRecord.MAGIC || reserved != 0 || length < 0) {
            return false;
        }
        switch (type) {
            case SpoolRecord.BEGIN:
                return length <= SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES;
            case SpoolRecord.DATA:
                return length <= SpoolRecord.MAX_PAYLOAD_BYTES;
            case SpoolRecord.COMMIT:
                return length == SpoolRecord.COMMIT_PAYLOAD_BYTES;
            case SpoolRecord.SYNCED:
                return length == SpoolRecord.SYNCED_PAYLOAD_BYTES;
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
        crcOctets += length;
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
