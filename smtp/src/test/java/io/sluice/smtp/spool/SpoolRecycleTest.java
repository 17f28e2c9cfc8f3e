package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Emptied segment files are renamed {@code .free} and overwritten by the next roll; the records
 * left from a file's previous life never come back as messages (their CRCs carry the old
 * segment number's salt), whatever deleted.log still says.
 */
class SpoolRecycleTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 100;

    @TempDir
    Path tmp;

    @Test
    void anEmptiedSegmentIsOverwrittenAndItsOldRecordsNeverReturn() throws Exception {
        Path seg0 = segment(0);
        Path seg2 = segment(2);
        List<QueueId> survivors = new ArrayList<>();
        QueueId stale;
        QueueId y;
        long staleOffset;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            QueueId x = commit(appender, content(1, SMALL));
            staleOffset = Files.size(seg0);
            stale = commit(appender, content(2, SMALL));
            QueueId fill0 = commit(appender, content(3, fillTo(Files.size(seg0))));
            survivors.add(commit(appender, content(4, SMALL))); // rolls to segment 1
            survivors.add(commit(appender, content(5, fillTo(Files.size(segment(1))))));
            Object inode = Files.getAttribute(seg0, "unix:ino");

            for (QueueId id : List.of(x, stale, fill0)) {
                assertTrue(spool.delete(id));
            }
            assertFalse(Files.exists(seg0), "an emptied segment leaves the scanned names");
            assertTrue(Files.exists(tmp.resolve("segments").resolve(Segment.freeName(0, 0))));

            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            y = commit(appender, content(6, SMALL)); // rolls to segment 2: the kept file
            survivors.add(y);
            assertEquals(1, spool.segmentsRecycled());
            assertEquals(inode, Files.getAttribute(seg2, "unix:ino"), "segment 2 is segment 0's file");
            assertArrayEquals(content(6, SMALL), read(spool, y));
        }
        // Y's records cover X's exactly, and the SYNCED record close wrote for Y's round covers
        // the one X's round left, so the next record in the file is the deleted message's BEGIN,
        // intact: only its salt keeps it from being read as a message.
        long syncedEnd = staleOffset + SpoolRecord.SYNCED_RECORD_BYTES;
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
        try (FileChannel ch = FileChannel.open(seg2, StandardOpenOption.READ)) {
            ch.read(header, staleOffset);
            assertEquals(SpoolRecord.SYNCED, header.get(0));
            ch.read(header.clear(), syncedEnd);
        }
        assertEquals(SpoolRecord.BEGIN, header.get(0));
        assertEquals(SpoolRecord.MAGIC, header.get(1));
        assertEquals(stale.value(), header.getLong(8), "a deleted message's BEGIN follows Y's records");

        Files.delete(tmp.resolve("deleted.log")); // as if a rewrite had dropped every tombstone
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(survivors, ids(spool));
            assertArrayEquals(content(6, SMALL), read(spool, y));
            assertEquals(syncedEnd, Files.size(seg2), "the old records are cut off at start");
        }
    }

    /**
     * A crash between reusing a kept file (its rename to the new {@code .seg} name) and the first
     * record written into it: nothing in the file was acknowledged in its new life and its old
     * records are all delivered (their tombstones may be compacted away). Its new header is on
     * disk before the rename, so recovery cuts the old records as a reused file's (INFO) and
     * quarantines nothing: no 4 KiB-64 MiB {@code .corrupt} kept forever, no WARN inviting the
     * operator to restore delivered mail.
     */
    @Test
    void aCrashRightAfterReusingAFileIsNotQuarantined() throws Exception {
        List<QueueId> survivors = new ArrayList<>();
        byte[] previousLife;
        byte[] newHeader = new byte[SpoolRecord.SEGMENT_HEADER_BYTES];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            QueueId old = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            survivors.add(commit(appender, content(2, SMALL))); // rolls to segment 1
            survivors.add(commit(appender, content(3, fillTo(Files.size(segment(1))))));
            previousLife = Files.readAllBytes(segment(0));
            assertTrue(spool.delete(old)); // delivered: segment 0 empties and is kept as .free
            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            commit(appender, content(4, SMALL)); // rolls to segment 2: segment 0's file
            assertEquals(1, spool.segmentsRecycled());
            try (FileChannel ch = FileChannel.open(segment(2), StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(newHeader), 0);
            }
        }
        // What the disk holds if the machine dies right after the rename: the new header (forced
        // before it), then the previous life's records. Tombstones compacted away.
        System.arraycopy(newHeader, 0, previousLife, 0, newHeader.length);
        Files.write(segment(2), previousLife);
        Files.delete(tmp.resolve("deleted.log"));

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(survivors, ids(spool), "the previous life's message stays gone");
        }
        assertFalse(Files.exists(segment(2)), "its old records are cut, and then nothing is left in it");
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            assertEquals(List.of(), s.filter(p -> p.toString().contains(".corrupt")).collect(Collectors.toList()),
                    "a crash at a roll is not damage");
        }
    }

    /** The reused file's new header is written and forced while it is still {@code .free}, then renamed. */
    @Test
    void aReusedFileTakesItsNewNameOnlyAfterItsNewHeaderIsForced() throws Exception {
        List<String> atForce = new ArrayList<>();
        SegmentChannelFactory factory = new SegmentChannelFactory() {
            @Override
            public FileChannel create(Path path) throws IOException {
                return SegmentChannelFactory.DEFAULT.create(path);
            }

            @Override
            public FileChannel reuse(Path path) throws IOException {
                FailingFileChannel channel = new FailingFileChannel(SegmentChannelFactory.DEFAULT.reuse(path), -1, false);
                channel.beforeForce = () -> atForce.add(path.getFileName() + " exists=" + Files.exists(path)
                        + " header names " + headerName(path) + " seg2 exists=" + Files.exists(segment(2)));
                return channel;
            }
        };
        try (Spool spool = Spool.open(tmp, OPTIONS, factory)) {
            SpoolAppender appender = spool.appender(0);
            QueueId old = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            commit(appender, content(2, SMALL)); // rolls to segment 1
            commit(appender, content(3, fillTo(Files.size(segment(1)))));
            assertTrue(spool.delete(old));
            SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
            commit(appender, content(4, SMALL)); // rolls to segment 2: segment 0's file
            assertEquals(1, spool.segmentsRecycled());
            assertEquals(Segment.fileName(0, 2), headerName(segment(2)));
        }
        assertFalse(atForce.isEmpty(), "the reused file was never forced");
        assertEquals(Segment.freeName(0, 0) + " exists=true header names " + Segment.fileName(0, 2)
                + " seg2 exists=false", atForce.get(0));
    }

    /** The name a format-3 header gives its file. */
    private static String headerName(Path file) {
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.read(header, 0);
        } catch (IOException e) {
            return e.toString();
        }
        return Segment.fileName(header.getInt(12), header.getLong(24));
    }

    @Test
    void withRecyclingOffAnEmptiedSegmentIsDeleted() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS.withRecycledSegmentsPerLoop(0))) {
            SpoolAppender appender = spool.appender(0);
            QueueId first = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            commit(appender, content(2, SMALL)); // rolls
            assertTrue(spool.delete(first));
            assertFalse(Files.exists(segment(0)));
            commit(appender, content(3, fillTo(Files.size(segment(1)))));
            commit(appender, content(4, SMALL)); // rolls to a new file
            assertEquals(0, spool.segmentsRecycled());
            assertEquals(List.of(), freeFiles());
        }
    }

    @Test
    void keptFilesGoAtCloseAndLeftoversAtStart() throws Exception {
        Files.createDirectories(tmp.resolve("segments"));
        Path leftover = tmp.resolve("segments").resolve(Segment.freeName(0, 9));
        Files.write(leftover, new byte[100]);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertFalse(Files.exists(leftover), "a crash's kept file is deleted at start");
            SpoolAppender appender = spool.appender(0);
            QueueId first = commit(appender, content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            commit(appender, content(2, SMALL)); // rolls
            assertTrue(spool.delete(first));
            assertEquals(1, freeFiles().size());
        }
        assertEquals(List.of(), freeFiles());
    }

    @Test
    void versionOneSegmentsAreReadWithoutSalt() throws Exception {
        byte[] body = content(7, SMALL);
        QueueId id = QueueId.of(1_700_000_000_000L << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS));
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED)
                .putLong(SpoolRecord.SEGMENT_MAGIC).putInt(SpoolRecord.SEGMENT_VERSION_UNSALTED).putInt(0);
        writeSegment(5, header.array(), message(id, body, 0));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(id), ids(spool));
            assertArrayEquals(body, read(spool, id));
        }
    }

    @Test
    void aVersionTwoSegmentsRecordsCountOnlyUnderItsOwnNonceAndNumber() throws Exception {
        byte[] body = content(7, SMALL);
        QueueId id = QueueId.of(1_700_000_000_000L << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS));
        long nonce = 0x1234_5678_9ABC_DEF0L;
        byte[] records = message(id, body, SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION_NAME_SALTED, nonce, 7));
        writeSegment(7, versionTwoHeader(nonce), records);
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(List.of(id), ids(spool), "the records are well formed");
            assertArrayEquals(body, read(spool, id));
        }
        Files.delete(segment(7));
        writeSegment(8, versionTwoHeader(nonce + 1), records); // the file's next life
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(List.of(), ids(spool), "another nonce disowns them");
        }
        assertFalse(Files.exists(segment(8)), "not read as a segment");
        assertTrue(Files.exists(tmp.resolve("segments").resolve(Segment.fileName(0, 8) + ".corrupt")),
                "format 2 cannot tell a reused file from a renamed one: kept aside, never cut");
        writeSegment(9, versionTwoHeader(nonce), records); // renamed, header not rewritten (a crash)
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(List.of(), ids(spool), "another number disowns them");
        }
    }

    @Test
    void aRecordNamingAnotherLoopsIdIsNotValid() throws Exception {
        QueueId ofLoopOne = QueueId.of((1_700_000_000_000L << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS)) | 1);
        long nonce = 42;
        writeSegment(3, versionTwoHeader(nonce),
                message(ofLoopOne, content(7, SMALL),
                        SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION_NAME_SALTED, nonce, 3)));
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(List.of(), ids(spool), "loop 0's segment holds only loop 0's ids");
        }
    }

    private static byte[] versionTwoHeader(long nonce) {
        return ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES_NAME_SALTED).putLong(SpoolRecord.SEGMENT_MAGIC)
                .putInt(SpoolRecord.SEGMENT_VERSION_NAME_SALTED).putInt(0).putLong(nonce).array();
    }

    /** BEGIN, DATA, COMMIT of one message, each CRC XORed with {@code salt}. */
    private static byte[] message(QueueId id, byte[] body, int salt) {
        byte[] envelope = EnvelopeCodec.encode(ENVELOPE);
        ByteBuffer out = ByteBuffer.allocate(3 * SpoolRecord.HEADER_BYTES + envelope.length + body.length + 8);
        record(out, SpoolRecord.BEGIN, id, envelope, salt);
        record(out, SpoolRecord.DATA, id, body, salt);
        record(out, SpoolRecord.COMMIT, id, ByteBuffer.allocate(8).putLong(0, body.length).array(), salt);
        return out.array();
    }

    private static void record(ByteBuffer out, byte type, QueueId id, byte[] payload, int salt) {
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
        SpoolRecord.encodeHeader(header, new CRC32C(), type, id, ByteBuffer.wrap(payload), payload.length, salt);
        out.put(header).put(payload);
    }

    private void writeSegment(long seq, byte[] header, byte[] records) throws IOException {
        Files.createDirectories(tmp.resolve("segments"));
        byte[] file = new byte[header.length + records.length];
        System.arraycopy(header, 0, file, 0, header.length);
        System.arraycopy(records, 0, file, header.length, records.length);
        Files.write(segment(seq), file);
    }

    @Test
    void aVersionTwoRecordUnderAnotherNumberIsNotValid() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            commit(spool.appender(0), content(8, SMALL));
        }
        Files.move(segment(0), segment(5)); // salt 0 written, salt 5 expected
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool));
        }
    }

    private static int fillTo(long offset) {
        return SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, offset);
    }

    private static QueueId commit(SpoolAppender appender, byte[] body) throws Exception {
        return SpoolTestSupport.commitOne(appender, ENVELOPE, body);
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private List<Path> freeFiles() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            return s.filter(p -> p.toString().endsWith(".free")).collect(Collectors.toList());
        }
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
