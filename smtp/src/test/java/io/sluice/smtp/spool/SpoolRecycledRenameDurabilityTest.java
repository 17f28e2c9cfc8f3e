package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
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
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review s7c (S4): a reused file's new header is forced before its rename to the new name, so the
 * earlier rename {@code 00-0.seg -> 00-0.free} must be durable before that header is written.
 * Otherwise a power loss after the header's fdatasync and before any directory fsync leaves the
 * file under its OLD {@code .seg} name with the NEW header, which recovery quarantines as
 * "renamed by hand". The disk's directory fsyncs and reuses are recorded through
 * {@link SegmentChannelFactory}; the state after a power loss is then built by hand from what
 * the spool had made durable when the header was written (as SpoolRecycleTest's crash test does).
 */
class SpoolRecycledRenameDurabilityTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");

    @TempDir
    Path tmp;

    /** Events on the spool's disk, in order: "sync" (segments/ fsynced) and "reuse NAME". */
    private final List<String> events = new ArrayList<>();
    private final SegmentChannelFactory disk = new SegmentChannelFactory() {
        @Override
        public FileChannel create(Path path) throws IOException {
            return DEFAULT.create(path);
        }

        @Override
        public FileChannel reuse(Path path) throws IOException {
            synchronized (events) {
                events.add("reuse " + path.getFileName());
            }
            return SegmentChannelFactory.super.reuse(path);
        }

        @Override
        public void syncDirectory(Path directory) throws IOException {
            SegmentChannelFactory.super.syncDirectory(directory);
            synchronized (events) {
                events.add("sync");
            }
        }
    };

    @Test
    void aPowerLossAfterTheReusedHeaderIsForcedDoesNotQuarantineTheOldSegment() throws Exception {
        List<QueueId> survivors = new ArrayList<>();
        byte[] previousLife;
        byte[] newHeader = new byte[SpoolRecord.SEGMENT_HEADER_BYTES];
        boolean freeRenameDurable;
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            QueueId old = SpoolTestSupport.commitOne(appender, ENVELOPE,
                    content(1, SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, SpoolRecord.SEGMENT_HEADER_BYTES)));
            survivors.add(SpoolTestSupport.commitOne(appender, ENVELOPE, content(2, 100))); // rolls to segment 1
            survivors.add(SpoolTestSupport.commitOne(appender, ENVELOPE,
                    content(3, SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, Files.size(segment(1))))));
            previousLife = Files.readAllBytes(segment(0));
            synchronized (events) {
                events.clear();
            }
            assertTrue(spool.delete(old)); // delivered: segment 0 empties and is kept as .free
            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            SpoolTestSupport.commitOne(appender, ENVELOPE, content(4, 100)); // rolls to segment 2: segment 0's file
            assertEquals(1, spool.segmentsRecycled());
            try (FileChannel ch = FileChannel.open(segment(2), StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(newHeader), 0);
            }
            synchronized (events) {
                assertEquals(List.of("sync", "reuse " + Segment.freeName(0, 0)), events,
                        "segments/ is fsynced after the .free rename and before the file's header is overwritten");
                freeRenameDurable = events.indexOf("sync") >= 0;
            }
        }
        // Power loss: the header's fdatasync reached the disk, the rename to segment 2 did not.
        // deleted.log still holds the tombstone of `old` (no rewrite ran). The old .seg name
        // survives only if no directory fsync followed the .free rename.
        System.arraycopy(newHeader, 0, previousLife, 0, newHeader.length);
        Files.delete(segment(2));
        Files.write(freeRenameDurable ? segment(0).resolveSibling(Segment.freeName(0, 0)) : segment(0), previousLife);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(survivors, ids(spool));
        }
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            assertEquals(List.of(), s.filter(p -> p.toString().contains(".corrupt"))
                    .map(p -> p.getFileName().toString()).collect(Collectors.toList()),
                    "a crash at a roll is not damage; the WARN tells the operator to restore delivered mail");
        }
    }

    /**
     * A segment retired on the event loop (its appender's roll drops the last ref) is not fsynced
     * there: its file waits for the writer's next directory fsync before its header is overwritten.
     */
    @Test
    void aFileRetiredByTheLoopIsReusedOnlyAfterTheWritersNextDirectoryFsync() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS, disk)) {
            SpoolAppender appender = spool.appender(0);
            QueueId full = SpoolTestSupport.commitOne(appender, ENVELOPE,
                    content(1, SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, SpoolRecord.SEGMENT_HEADER_BYTES)));
            assertTrue(spool.delete(full)); // segment 0 is still the appender's: not retired yet
            assertTrue(Files.exists(segment(0)));
            byte[] big = content(2, 9000); // 3 DATA records: the third starts segment 2 (a full one rolls)
            QueueId id = appender.begin(ENVELOPE); // rolls to segment 1: the loop retires segment 0
            assertTrue(spool.keptSegmentBytes() > 0, "segment 0's file is kept");
            SpoolTestSupport.appendAll(appender, id, big, 0, big.length, 3000);
            assertTrue(Files.exists(segment(2)));
            assertEquals(0, spool.segmentsRecycled(), "no directory fsync since its .free rename: not reused");
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, big.length, listener, Runnable::run);
            listener.await(); // new segments: the writer fsyncs segments/
            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            SpoolTestSupport.commitOne(appender, ENVELOPE, content(3, SEGMENT_BYTES)); // its COMMIT rolls to segment 3
            assertEquals(1, spool.segmentsRecycled(), "after the writer's directory fsync it is reused; files " + listing());
            assertEquals(List.of(id), ids(spool).subList(0, 1));
        }
    }

    private String listing() throws IOException {
        try (Stream<Path> files = Files.list(tmp.resolve("segments"))) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.joining(","));
        }
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
