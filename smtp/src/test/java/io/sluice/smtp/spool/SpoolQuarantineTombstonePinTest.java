package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review s7c (S3): while any {@code .corrupt} file exists, every start keeps every tombstone of a
 * message not found whole, including those of mail accepted and delivered long after the
 * quarantine (which cannot be in the quarantined file). deleted.log, and the pinned tombstones
 * in memory, then grow with every delivered message for as long as the file is left there.
 */
class SpoolQuarantineTombstonePinTest {
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults().withSegmentMaxBytes(4096)
            .withMaxRecordPayloadBytes(4096);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int DELIVERED_PER_START = 100;

    @TempDir
    Path tmp;

    @Test
    void tombstonesOfMailDeliveredAfterTheQuarantineAreNotKeptForever() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(1, 100));
        }
        Files.move(segment(0), segment(5)); // renamed by hand: quarantined at the next start
        for (int start = 0; start < 3; start++) {
            try (Spool spool = Spool.open(tmp, OPTIONS)) {
                for (int i = 0; i < DELIVERED_PER_START; i++) {
                    assertTrue(spool.delete(SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(10 + i, 50))));
                }
            }
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(spool.list().isEmpty(), "segment 5 is quarantined, everything else delivered");
            long octets = Files.size(tmp.resolve("deleted.log"));
            // None of these 300 messages can be in the file quarantined before they were accepted.
            assertTrue(octets < 20L * DELIVERED_PER_START,
                    "deleted.log keeps " + octets / 20 + " tombstones of mail delivered after the quarantine");
        }
    }

    /**
     * A quarantined file whose records cannot be framed (a garbage header) is bounded by its
     * modification time, not "every id": tombstones of mail accepted after it are not kept either.
     */
    @Test
    void anUnreadableQuarantinedFileIsBoundedByItsModificationTime() throws Exception {
        Files.createDirectories(tmp.resolve("segments"));
        Path garbage = tmp.resolve("segments").resolve(Segment.fileName(0, 77) + ".corrupt");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        long mtimeMillis = System.currentTimeMillis() - 3_600_000L;
        Files.setLastModifiedTime(garbage, FileTime.fromMillis(mtimeMillis));
        for (int start = 0; start < 3; start++) {
            try (Spool spool = Spool.open(tmp, OPTIONS)) {
                long bound = spool.quarantinedIdBound().orElseThrow();
                assertNotEquals(-1L, bound, "not every id");
                long boundMillis = QueueId.of(bound).epochMillis();
                assertTrue(boundMillis >= mtimeMillis && boundMillis <= mtimeMillis + 120_000L, "bound at " + boundMillis);
                for (int i = 0; i < DELIVERED_PER_START; i++) {
                    assertTrue(spool.delete(SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(10 + i, 50))));
                }
            }
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(Files.exists(garbage) && spool.list().isEmpty(), "still quarantined, everything else delivered");
            long octets = Files.size(tmp.resolve("deleted.log"));
            assertTrue(octets < 20L * DELIVERED_PER_START,
                    "deleted.log keeps " + octets / 20 + " tombstones of mail delivered after the file was written");
        }
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }
}
