package io.sluice.smtp.spool;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** Constants and header codec of the segment format described in {@code package-info.java}. */
final class SpoolRecord {
    static final byte BEGIN = 1;
    static final byte DATA = 2;
    static final byte COMMIT = 3;
    static final byte ABORT = 4;
    /**
     * Version 4: payload u64, an offset of this same file through which an fdatasync of it had
     * completed when the record was written; recovery's evidence that damage before it hit
     * fsynced (acknowledged) data, not a torn write (see SegmentScanner#resumeAfterDamage).
     */
    static final byte SYNCED = 5;

    static final byte MAGIC = (byte) 0xA5;
    static final int HEADER_BYTES = 20;
    static final int CRC_OFFSET = 16;
    /** Hard limit checked by recovery whatever the options say, so a garbage length is never trusted. */
    static final int MAX_PAYLOAD_BYTES = 16 << 20;
    static final int MAX_BEGIN_PAYLOAD_BYTES = 1 << 20;
    static final int COMMIT_PAYLOAD_BYTES = 8;
    static final int SYNCED_PAYLOAD_BYTES = 8;
    /** A whole SYNCED record: header and payload, written from one buffer. */
    static final int SYNCED_RECORD_BYTES = HEADER_BYTES + SYNCED_PAYLOAD_BYTES;

    static final long SEGMENT_MAGIC = 0x534C5549_43455347L; // "SLUICESG"
    /** Version 1: a 16-byte header, record CRCs unsalted. Read, never written any more. */
    static final int SEGMENT_VERSION_UNSALTED = 1;
    static final int SEGMENT_HEADER_BYTES_UNSALTED = 16;
    /**
     * Version 2: the header adds a random 64-bit nonce, new for every life of the file, and each
     * record's stored CRC is XORed with {@link #crcSalt} of that nonce and the segment number taken
     * from the FILE NAME. Read, never written any more: a file renamed by hand fails its first
     * record and cannot say why, so recovery quarantines it (see SegmentScanner#reasonToKeep).
     */
    static final int SEGMENT_VERSION_NAME_SALTED = 2;
    static final int SEGMENT_HEADER_BYTES_NAME_SALTED = 24;
    /**
     * Version 3: as version 2, plus the segment number the file was written as, so a
     * file under another name (renamed, restored or copied by hand) is recognised from its header
     * and quarantined, never cut. A reused file's new header is fsynced before its rename, so a
     * crash never leaves one under its new name with its old header. Read, never written any more.
     */
    static final int SEGMENT_VERSION_NUMBERED = 3;
    /**
     * Version 4 (written): the header of version 3; records may include {@link #SYNCED}. The
     * bump keeps older builds (which would cut at damage the SYNCED records prove fsynced) from
     * reading such a file at all: they quarantine it as not a segment.
     */
    static final int SEGMENT_VERSION = 4;
    static final int SEGMENT_HEADER_BYTES = 32;

    private SpoolRecord() {
    }

    /**
     * What a version-2 segment XORs into every stored record CRC. A reused file gets a new nonce
     * and number, so the records and message bytes left over from its previous life (which a
     * client chose, and which a scan may read as record headers where the new records end) pass a
     * CRC check only by a 2^-32 chance nobody can steer: no one outside the spool knows the nonce.
     * That is per candidate offset: where recovery resyncs past damage, content a client chose may
     * frame tens of thousands of candidates per MiB, so a resync point must be followed by a second
     * valid record (or the SYNCED record vouching for the range), 2^-64 per candidate
     * (SegmentScanner#resyncPoint). The number is mixed in too, so a crash that keeps a file's new name but not its rewritten
     * header still disowns the old records.
     */
    static int crcSalt(int version, long nonce, long seq) {
        if (version == SEGMENT_VERSION_UNSALTED) {
            return 0;
        }
        long z = nonce ^ (seq * 0x9E3779B97F4A7C15L); // SplitMix64's finalizer
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (int) (z ^ (z >>> 32));
    }

    /** Whether the header records the segment number the file was written as (versions 3 and 4). */
    static boolean recordsSeq(int version) {
        return version >= SEGMENT_VERSION_NUMBERED;
    }

    /** Whether {@code type} is a record type of any version (framing-only scans). */
    static boolean isType(byte type) {
        return type >= BEGIN && type <= SYNCED;
    }

    /** Whether {@code type} is a record type of segment format {@code version}. */
    static boolean isType(byte type, int version) {
        return type >= BEGIN && (type <= ABORT || type == SYNCED && version >= SEGMENT_VERSION);
    }

    /**
     * The queue id field of a SYNCED record: the loop's index alone (the id of no message, older
     * than every minted id, so recovery's newest-id tracking ignores it even if it did not skip it).
     */
    static long syncedId(int loopIndex) {
        return loopIndex;
    }

    /**
     * Fills {@code header} (capacity >= 20) with a record header whose CRC covers the header and
     * the {@code length} bytes of {@code payload} from its position (null for none), XORed with the
     * segment's {@code salt}; leaves the header flipped for writing and the payload's position and
     * limit untouched.
     */
    static void encodeHeader(ByteBuffer header, CRC32C crc, byte type, QueueId id,
                             ByteBuffer payload, int length, int salt) {
        header.clear();
        header.put(type).put(MAGIC).putShort((short) 0).putInt(length).putLong(id.value());
        header.flip();
        crc.reset();
        crc.update(header);
        if (length > 0) {
            int position = payload.position();
            int limit = payload.limit();
            payload.limit(position + length);
            crc.update(payload);
            payload.limit(limit).position(position);
        }
        header.limit(HEADER_BYTES);
        header.putInt(CRC_OFFSET, (int) crc.getValue() ^ salt);
        header.position(0);
    }

    /**
     * Fills {@code out} (capacity >= 28) with a whole SYNCED record of loop {@code loopIndex}
     * claiming {@code durableOffset}, salted, flipped for writing. No allocation.
     */
    static void encodeSynced(ByteBuffer out, CRC32C crc, int loopIndex, long durableOffset, int salt) {
        out.clear();
        out.put(SYNCED).put(MAGIC).putShort((short) 0).putInt(SYNCED_PAYLOAD_BYTES).putLong(syncedId(loopIndex))
                .putInt(0).putLong(durableOffset);
        crc.reset();
        out.limit(CRC_OFFSET).position(0);
        crc.update(out);
        out.limit(SYNCED_RECORD_BYTES).position(HEADER_BYTES);
        crc.update(out);
        out.putInt(CRC_OFFSET, (int) crc.getValue() ^ salt);
        out.position(0);
    }

    /** Fills {@code out} (capacity >= 32) with a version-4 segment header, flipped for writing. */
    static void encodeSegmentHeader(ByteBuffer out, int loopIndex, long nonce, long seq) {
        out.clear();
        out.putLong(SEGMENT_MAGIC).putInt(SEGMENT_VERSION).putInt(loopIndex).putLong(nonce).putLong(seq);
        out.flip();
    }
}
