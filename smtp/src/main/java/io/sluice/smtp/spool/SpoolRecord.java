package io.sluice.smtp.spool;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** Constants and header codec of the segment format described in {@code package-info.java}. */
final class SpoolRecord {
    static final byte BEGIN = 1;
    static final byte DATA = 2;
    static final byte COMMIT = 3;
    static final byte ABORT = 4;

    static final byte MAGIC = (byte) 0xA5;
    static final int HEADER_BYTES = 20;
    static final int CRC_OFFSET = 16;
    /** Hard limit checked by recovery whatever the options say, so a garbage length is never trusted. */
    static final int MAX_PAYLOAD_BYTES = 16 << 20;
    static final int MAX_BEGIN_PAYLOAD_BYTES = 1 << 20;
    static final int COMMIT_PAYLOAD_BYTES = 8;

    static final long SEGMENT_MAGIC = 0x534C5549_43455347L; // "SLUICESG"
    /** Version 1: record CRCs unsalted. Read, never written any more. */
    static final int SEGMENT_VERSION_UNSALTED = 1;
    /** Version 2 (written): each record's stored CRC is XORed with the segment's {@link #crcSalt}. */
    static final int SEGMENT_VERSION = 2;
    static final int SEGMENT_HEADER_BYTES = 16;

    private SpoolRecord() {
    }

    /**
     * What a version-2 segment XORs into every stored record CRC: derived from the segment's
     * number, so that when a file is recycled under a new number the records left over from its
     * previous life fail their CRC and a scan stops at them (they are never mistaken for messages,
     * whatever deleted.log says). Distinct for any two numbers less than 2^32 apart.
     */
    static int crcSalt(int version, long seq) {
        return version == SEGMENT_VERSION_UNSALTED ? 0 : (int) (seq ^ (seq >>> 32));
    }

    static boolean isType(byte type) {
        return type >= BEGIN && type <= ABORT;
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

    static void encodeSegmentHeader(ByteBuffer out, int loopIndex) {
        out.clear();
        out.putLong(SEGMENT_MAGIC).putInt(SEGMENT_VERSION).putInt(loopIndex);
        out.flip();
    }
}
