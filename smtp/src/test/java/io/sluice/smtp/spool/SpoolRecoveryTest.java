package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpoolRecoveryTest {
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults().withMaxRecordPayloadBytes(100);

    @TempDir
    Path tmp;

    @Test
    void tornTailAtEveryOffsetLosesOnlyTheTornMessage() throws Exception {
        Path original = tmp.resolve("original");
        byte[] a = content(1, 250);
        byte[] b = content(2, 130);
        byte[] c = content(3, 160);
        QueueId idA;
        QueueId idB;
        long sizeAfterB;
        Path segment;
        try (Spool spool = Spool.open(original, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            idA = commit(appender, a, 1);
            idB = commit(appender, b, 2);
            segment = onlySegment(original);
            sizeAfterB = Files.size(segment);
            commit(appender, c, 3); // BEGIN, 2 DATA, COMMIT: the records we tear
        }
        // A crash, not a close: without the SYNCED record close writes for the last round.
        long[] name = Segment.parseName(segment.getFileName().toString());
        List<SpoolTestSupport.ScannedRecord> written = SpoolTestSupport.records(segment, (int) name[0], name[1]);
        SpoolTestSupport.ScannedRecord last = written.get(written.size() - 1);
        assertEquals(SpoolRecord.SYNCED, last.type());
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(last.offset());
        }
        long fullSize = Files.size(segment);
        assertTrue(fullSize > sizeAfterB + 160);
        // Every offset near C's first and last records (headers, COMMIT), every 5th in between.
        for (long cut = sizeAfterB; cut < fullSize; cut += (cut < sizeAfterB + 64 || cut >= fullSize - 64) ? 1 : 5) {
            Path copy = tmp.resolve("cut-" + cut);
            Files.createDirectories(copy.resolve("segments"));
            Path torn = copy.resolve("segments").resolve(segment.getFileName());
            Files.copy(segment, torn);
            try (FileChannel ch = FileChannel.open(torn, StandardOpenOption.WRITE)) {
                ch.truncate(cut);
            }
            boolean appendAfter = cut % 8 == 0 || cut == fullSize - 1;
            QueueId idD = null;
            try (Spool spool = Spool.open(copy, OPTIONS)) {
                assertEquals(List.of(idA, idB), ids(spool), "cut at " + cut);
                assertArrayEquals(a, read(spool, idA));
                assertArrayEquals(b, read(spool, idB));
                assertTrue(Files.size(torn) <= cut, "torn tail cut off");
                if (appendAfter) {
                    idD = commit(spool.appender(0), content(4, 300), 4);
                }
            }
            if (appendAfter) {
                try (Spool spool = Spool.open(copy, OPTIONS)) {
                    assertEquals(List.of(idA, idB, idD), ids(spool), "cut at " + cut);
                    assertArrayEquals(content(4, 300), read(spool, idD));
                }
            }
        }
    }

    @Test
    void garbageFileNamedLikeASegmentIsQuarantinedNotFatal() throws Exception {
        Files.createDirectories(tmp.resolve("segments"));
        Files.write(tmp.resolve("segments").resolve("00-000000000007.seg"), new byte[64]);
        Files.write(tmp.resolve("segments").resolve("00-000000000008.seg"), new byte[3]);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), spool.list());
            QueueId id = commit(spool.appender(0), content(5, 10), 5);
            assertEquals(List.of(id), ids(spool));
        }
        assertTrue(Files.exists(tmp.resolve("segments").resolve("00-000000000007.seg.corrupt")));
        assertTrue(Files.notExists(tmp.resolve("segments").resolve("00-000000000008.seg")), "torn header: deleted");
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(1, spool.list().size());
        }
    }

    /**
     * Gathering writes, in order: A's BEGIN (0), 3 DATA (1-3), COMMIT (4); D's BEGIN (5), DATA (6);
     * B's BEGIN (7), DATA (8-10), COMMIT (11). The disk fills at one of B's writes.
     */
    @ParameterizedTest(name = "write {0} fails, truncate fails: {1}")
    @CsvSource({"7,false", "8,false", "9,false", "11,false", "7,true", "9,true", "11,true"})
    void diskFullPropagatesAndRecoveryKeepsEveryEarlierCommit(int failingWrite, boolean truncateFails)
            throws Exception {
        List<FailingFileChannel> opened = new ArrayList<>();
        SegmentChannelFactory factory = path -> {
            FileChannel real = SegmentChannelFactory.DEFAULT.create(path);
            if (!opened.isEmpty()) {
                return real; // only the first segment fills up
            }
            FailingFileChannel failing = new FailingFileChannel(real, failingWrite, truncateFails);
            opened.add(failing);
            return failing;
        };
        byte[] a = content(1, 300);
        byte[] b = content(2, 300);
        byte[] d = content(3, 200);
        QueueId idA;
        QueueId idD;
        QueueId idC;
        try (Spool spool = Spool.open(tmp, OPTIONS, factory)) {
            SpoolAppender appender = spool.appender(0);
            idA = commit(appender, a, 1);
            idD = appender.begin(envelope("d@example.com"));
            SpoolTestSupport.appendAll(appender, idD, d, 0, 100, 100);

            IOException full = assertThrows(IOException.class, () -> {
                QueueId idB = write(appender, envelope("b@example.com"), b, 100);
                commitAndAwait(appender, idB, b.length);
            });
            assertEquals(FailingFileChannel.ENOSPC, full.getMessage());
            assertEquals(1, appender.pendingMessages(), "B is forgotten, D still open");

            SpoolTestSupport.appendAll(appender, idD, d, 100, d.length, 100);
            SpoolTestSupport.RecordingListener listenerD = new SpoolTestSupport.RecordingListener(1);
            appender.commit(idD, d.length, listenerD, Runnable::run);
            listenerD.await();
            if (truncateFails) {
                assertNotNull(listenerD.failed.get(idD), "D has records in the retired segment");
            } else {
                assertEquals(1, listenerD.committedOn.size(), "the torn record was cut away");
            }
            idC = commit(appender, content(4, 250), 4);
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            List<QueueId> expected = truncateFails ? List.of(idA, idC) : List.of(idA, idD, idC);
            assertEquals(expected, ids(spool));
            assertArrayEquals(a, read(spool, idA));
            assertArrayEquals(content(4, 250), read(spool, idC));
            if (!truncateFails) {
                assertArrayEquals(d, read(spool, idD));
            }
        }
    }

    private static QueueId commit(SpoolAppender appender, byte[] body, int seed) throws Exception {
        QueueId id = write(appender, envelope(seed + "@example.com"), body, 100);
        commitAndAwait(appender, id, body.length);
        return id;
    }

    private static void commitAndAwait(SpoolAppender appender, QueueId id, long octets) throws Exception {
        SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
        appender.commit(id, octets, listener, Runnable::run);
        listener.await();
        assertEquals(List.of(id), new ArrayList<>(listener.committedOn.keySet()), "failed: " + listener.failed);
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }

    private static Path onlySegment(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("segments"))) {
            List<Path> all = s.collect(Collectors.toList());
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }
}
