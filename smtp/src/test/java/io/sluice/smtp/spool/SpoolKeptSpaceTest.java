package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Emptied segment files kept for reuse ({@code .free}) hold disk space that the spool counts as
 * its own free space: the health check adds them to the usable space, and the spool gives them
 * all back (every loop's) before a new segment file on a short disk, and after a write that
 * failed for space. The disk's usable space is faked through {@link SegmentChannelFactory}.
 */
class SpoolKeptSpaceTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 100;

    @TempDir
    Path tmp;

    private final AtomicLong usable = new AtomicLong(Long.MAX_VALUE / 4);
    /** Loop 1's segment files fail their first record write with ENOSPC while set. */
    private volatile boolean loopOneDiskFull;

    private final SegmentChannelFactory disk = new SegmentChannelFactory() {
        @Override
        public FileChannel create(Path path) throws IOException {
            FileChannel real = DEFAULT.create(path);
            boolean full = loopOneDiskFull && path.getFileName().toString().startsWith("01-");
            return full ? new FailingFileChannel(real, 0, false) : real;
        }

        @Override
        public long usableBytes(Path directory) {
            return usable.get();
        }
    };

    @Test
    void theHealthCheckCountsKeptFilesAsFreeSpaceUntilTheyAreReused() throws Exception {
        usable.set(Spool.MIN_FREE_BYTES - 1000);
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            String full = spool.unhealthyReason();
            assertNotNull(full);
            assertTrue(full.startsWith("spool disk full: usable=" + (Spool.MIN_FREE_BYTES - 1000) + " + kept=0 < "), full);

            SpoolAppender appender = spool.appender(0);
            QueueId first = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            commit(appender, content(2, SMALL)); // rolls to segment 1
            assertTrue(spool.delete(first)); // segment 0 empties and is kept
            Path kept = free(0, 0);
            assertTrue(Files.exists(kept));
            assertEquals(Files.size(kept), spool.keptSegmentBytes());
            assertNull(spool.unhealthyReason(), "the disk is short only by what the spool keeps for itself");

            commit(appender, content(3, fillTo(Files.size(segment(0, 1)))));
            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            commit(appender, content(4, SMALL)); // rolls into the kept file
            assertEquals(1, spool.segmentsRecycled());
            assertEquals(0, spool.keptSegmentBytes());
            assertNotNull(spool.unhealthyReason(), "reused, its space is the new segment's");
        }
    }

    @Test
    void aNewSegmentOnAShortDiskTakesBackEveryLoopsKeptFiles() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            keepOneFileOnLoopZero(spool);
            SpoolAppender other = spool.appender(1);
            commit(other, content(5, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES))); // loop 1's segment 0: room enough
            assertTrue(Files.exists(free(0, 0)), "kept while the disk has room");

            usable.set(Spool.MIN_FREE_BYTES + SEGMENT_BYTES - 1); // less than a segment to spare
            assertNull(spool.unhealthyReason(), "with the kept file, the spool has room");
            commit(other, content(6, SMALL)); // loop 1 needs a new segment file
            assertFalse(Files.exists(free(0, 0)), "loop 0's kept file made room first");
            assertEquals(0, spool.keptSegmentBytes());
            assertTrue(Files.exists(segment(1, 1)));
        }
    }

    @Test
    void aWriteThatFailsForSpaceGivesBackEveryLoopsKeptFiles() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            keepOneFileOnLoopZero(spool);
            loopOneDiskFull = true;
            SpoolAppender other = spool.appender(1);
            IOException e = assertThrows(IOException.class, () -> write(other, ENVELOPE, content(7, SMALL), SMALL));
            assertEquals(FailingFileChannel.ENOSPC, e.getMessage());
            assertFalse(Files.exists(free(0, 0)), "another loop's kept file is given back too");
            assertEquals(0, spool.keptSegmentBytes());
            assertTrue(spool.unhealthyReason().contains(FailingFileChannel.ENOSPC), spool.unhealthyReason());
        }
    }

    /** Loop 0 fills segment 0, rolls to 1 and empties 0, which it keeps. */
    private void keepOneFileOnLoopZero(Spool spool) throws Exception {
        SpoolAppender appender = spool.appender(0);
        QueueId first = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
        commit(appender, content(2, SMALL));
        assertTrue(spool.delete(first));
        assertTrue(Files.exists(free(0, 0)));
        assertTrue(spool.keptSegmentBytes() >= SEGMENT_BYTES - SMALL, "bytes=" + spool.keptSegmentBytes());
    }

    private static int fillTo(long offset) {
        return SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, offset);
    }

    private static QueueId commit(SpoolAppender appender, byte[] body) throws Exception {
        return SpoolTestSupport.commitOne(appender, ENVELOPE, body);
    }

    private Path segment(int loop, long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(loop, seq));
    }

    private Path free(int loop, long seq) {
        return tmp.resolve("segments").resolve(Segment.freeName(loop, seq));
    }
}
