package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Spool#unhealthyReason()}: the disk-full flag, a failed commit batch, a closed spool, and recovery. */
class HealthOfSpoolTest {

    private static final SpoolOptions OPTIONS = SpoolOptions.defaults().withMaxRecordPayloadBytes(100);

    @TempDir
    Path tmp;

    @Test
    void diskFullAndFailedCommitsAreReportedUntilACommitSucceeds() throws Exception {
        List<FailingFileChannel> opened = new ArrayList<>();
        // Writes in the first segment: A's BEGIN (0), DATA (1-3), COMMIT (4); D's BEGIN (5), DATA (6); B's BEGIN (7).
        SegmentChannelFactory factory = path -> {
            FileChannel real = SegmentChannelFactory.DEFAULT.create(path);
            if (!opened.isEmpty()) {
                return real;
            }
            FailingFileChannel failing = new FailingFileChannel(real, 7, true);
            opened.add(failing);
            return failing;
        };
        List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        try (Spool spool = Spool.open(tmp, OPTIONS, factory)) {
            spool.observeBatches((requests, fsyncNanos) -> batchSizes.add(requests));
            SpoolAppender appender = spool.appender(0);
            assertNull(spool.unhealthyReason(), "a fresh spool is healthy");
            assertTrue(commit(appender, write(appender, envelope("a@example.com"), content(1, 300), 100), 300));
            assertNull(spool.unhealthyReason());

            QueueId idD = appender.begin(envelope("d@example.com"));
            SpoolTestSupport.appendAll(appender, idD, content(3, 200), 0, 100, 100);
            assertThrows(IOException.class, () -> write(appender, envelope("b@example.com"), content(2, 300), 100));
            String full = spool.unhealthyReason();
            assertNotNull(full, "the disk-full flag is up");
            assertTrue(full.contains(FailingFileChannel.ENOSPC), full);

            SpoolTestSupport.appendAll(appender, idD, content(3, 200), 100, 200, 100);
            assertTrue(!commit(appender, idD, 200), "D had records in the retired segment");
            String failed = spool.unhealthyReason();
            assertNotNull(failed);
            assertTrue(failed.startsWith("last commit failed: "), failed);

            assertTrue(commit(appender, write(appender, envelope("c@example.com"), content(4, 250), 100), 250));
            assertNull(spool.unhealthyReason(), "a successful batch clears both flags");
            assertEquals(List.of(1, 1, 1), batchSizes, "the observer saw every batch");
        }
    }

    @Test
    void aClosedSpoolIsUnhealthy() throws Exception {
        Spool spool = Spool.open(tmp, OPTIONS);
        assertNull(spool.unhealthyReason());
        spool.close();
        assertEquals("spool closed", spool.unhealthyReason());
    }

    /** True when committed, false when failed. */
    private static boolean commit(SpoolAppender appender, QueueId id, long octets) throws Exception {
        SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
        appender.commit(id, octets, listener, Runnable::run);
        listener.await();
        return listener.committedOn.containsKey(id);
    }
}
