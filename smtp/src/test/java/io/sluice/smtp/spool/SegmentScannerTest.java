package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scanner's resync past a damaged range that a SYNCED record vouches for: what it may cost
 * (CRC octets, counted by the scanner, not timed) when message content frames fake record headers,
 * and that one forged record in that content is not where the scan goes on.
 */
class SegmentScannerTest {
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 300;

    @TempDir
    Path tmp;

    /**
     * Message content framing a fake BEGIN header (length up to 1 MiB, loop 0's id, any CRC) every
     * 20 octets inside a damaged DATA record: each candidate is CRC'd whole in the window, so the
     * resync's budget must charge it, or one damaged record costs tens of GB of CRC.
     */
    @Test
    void aResyncThroughFakeBeginHeadersStaysWithinItsCrcBudget() throws Exception {
        int size = SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES; // one DATA record (default chunk 1 MiB)
        ByteBuffer body = ByteBuffer.allocate(size);
        for (int k = 0; k + SpoolRecord.HEADER_BYTES <= size; k += SpoolRecord.HEADER_BYTES) {
            int length = Math.min(SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES, size - k - SpoolRecord.HEADER_BYTES);
            body.put(k, SpoolRecord.BEGIN).put(k + 1, SpoolRecord.MAGIC).putInt(k + 4, length)
                    .putLong(k + 8, 0L).putInt(k + 16, k); // id 0: loop 0; any CRC
        }
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE,
                        i == 1 ? body.array() : content(i, SMALL));
            }
        }
        Path segment = tmp.resolve("segments").resolve(Segment.fileName(0, 0));
        long dataAt = record(segment, 0, 0, SpoolRecord.DATA, ids[1]).offset();
        byte[] bytes = Files.readAllBytes(segment);
        bytes[(int) dataAt + 10] ^= 0x40; // the DATA record's header (its id): invalid
        Files.write(segment, bytes);

        SegmentScanner scanner = new SegmentScanner();
        List<QueueId> committed = new ArrayList<>();
        List<long[]> damaged = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            assertEquals(bytes.length, scanner.scan(ch, 0, 0, new SegmentScanner.Visitor() {
                @Override
                public void record(byte type, QueueId id, long payloadOffset, int length, ByteBuffer payload) {
                    if (type == SpoolRecord.COMMIT) {
                        committed.add(id);
                    }
                }

                @Override
                public void damaged(long from, long to) {
                    damaged.add(new long[] {from, to});
                }
            }), "scanned to the end");
        }
        assertEquals(List.of(ids[0], ids[2]), committed);
        assertEquals(1, damaged.size());
        // The whole file once (the scan itself), plus the candidate that crossed the budget.
        long bound = bytes.length + SpoolRecord.HEADER_BYTES + SpoolRecord.MAX_PAYLOAD_BYTES;
        assertTrue(scanner.crcOctets() <= SegmentScanner.RESYNC_CRC_BUDGET_BYTES + bound,
                "CRC'd " + scanner.crcOctets() + " octets; budget " + SegmentScanner.RESYNC_CRC_BUDGET_BYTES);

        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(Set.of(ids[0], ids[2]), idSet(spool));
        }
    }

    /**
     * Content a client chose, inside a damaged range, holding an ABORT record of an acknowledged
     * message that passes the salted CRC (here forged with the salt read from the header; an
     * attacker's chance is 2^-32 per candidate): not followed by a second valid record, it is no
     * resync point, and the acknowledged message stays queued.
     */
    @Test
    void aForgedRecordInDamagedContentIsNoResyncPoint() throws Exception {
        QueueId[] ids = new QueueId[3];
        Path segment = tmp.resolve("segments").resolve(Segment.fileName(0, 0));
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            ids[0] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(0, SMALL));
            ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(segment), 0, SpoolRecord.SEGMENT_HEADER_BYTES);
            int salt = SpoolRecord.crcSalt(header.getInt(8), header.getLong(16), header.getLong(24));
            ByteBuffer forged = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
            SpoolRecord.encodeHeader(forged, new java.util.zip.CRC32C(), SpoolRecord.ABORT, ids[0], null, 0, salt);
            byte[] body = content(1, SMALL);
            forged.get(body, 100, SpoolRecord.HEADER_BYTES); // then the rest of the content: no record
            ids[1] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, body);
            ids[2] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(2, SMALL));
        }
        long dataAt = record(segment, 0, 0, SpoolRecord.DATA, ids[1]).offset();
        byte[] bytes = Files.readAllBytes(segment);
        bytes[(int) dataAt + 10] ^= 0x40; // the DATA record's header (its id): invalid
        Files.write(segment, bytes);

        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(Set.of(ids[0], ids[2]), idSet(spool), "the acknowledged message is not aborted");
            assertEquals(1, spool.stats().damagedRanges());
        }
    }

    private static Set<QueueId> idSet(Spool spool) throws IOException {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toSet());
    }
}
