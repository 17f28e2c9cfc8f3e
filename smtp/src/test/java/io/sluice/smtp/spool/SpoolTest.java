package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    @TempDir
    Path dir;

    private static final SpoolOptions SMALL_RECORDS = SpoolOptions.defaults().withMaxRecordPayloadBytes(4096);

    @Test
    void roundTripAnswersOnTheGivenExecutorAndCopiesByteExact() throws Exception {
        ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-loop"));
        try (Spool spool = Spool.open(dir, SMALL_RECORDS)) {
            SpoolAppender appender = spool.appender(0);
            byte[] body = content(1, 100_000);
            Envelope env = envelope("a@example.com");
            QueueId id = write(appender, env, body, 7_777);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, body.length, listener, loop);
            listener.await();

            assertEquals("test-loop", listener.committedOn.get(id));
            List<QueuedMessage> queued = spool.list();
            assertEquals(1, queued.size());
            assertEquals(new QueuedMessage(id, env, body.length, env.arrivalMillis()), queued.get(0));
            assertArrayEquals(body, read(spool, id));
            assertEquals(0, appender.pendingMessages());
        } finally {
            loop.shutdown();
        }
    }

    @Test
    void reopenRecoversCommittedOnlyAndMintsLaterIds() throws Exception {
        byte[] a = content(2, 5000);
        QueueId committed;
        try (Spool spool = Spool.open(dir, SMALL_RECORDS)) {
            SpoolAppender appender = spool.appender(1);
            committed = write(appender, envelope("a@example.com"), a, 1000);
            QueueId aborted = write(appender, envelope("b@example.com"), content(3, 3000), 1000);
            QueueId neverCommitted = write(appender, envelope("c@example.com"), content(4, 3000), 1000);
            appender.abort(aborted);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(committed, a.length, listener, Runnable::run);
            listener.await();
            assertEquals(1, appender.pendingMessages(), "never-committed " + neverCommitted + " still open");
        }
        try (Spool spool = Spool.open(dir, SpoolOptions.defaults())) {
            assertEquals(List.of(committed), ids(spool));
            assertArrayEquals(a, read(spool, committed));
            QueueId next = spool.appender(1).begin(envelope("d@example.com"));
            assertTrue(next.compareTo(committed) > 0, next + " after " + committed);
        }
    }

    @Test
    void groupCommitAnswersEveryCommitWithFewerFsyncsThanMessages() throws Exception {
        int perAppender = 100;
        SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(2 * perAppender);
        // A wide window makes batching certain even on a loaded machine; nothing asserts timing.
        SpoolOptions wideWindow = SpoolOptions.defaults().withCommitWindowNanos(TimeUnit.MILLISECONDS.toNanos(20));
        try (Spool spool = Spool.open(dir, wideWindow)) {
            List<Thread> loops = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int loop = 0; loop < 2; loop++) {
                SpoolAppender appender = spool.appender(loop);
                Thread t = new Thread(() -> {
                    try {
                        for (int i = 0; i < perAppender; i++) {
                            byte[] body = content(i, 1024);
                            QueueId id = write(appender, envelope("r" + i + "@example.com"), body, 1024);
                            appender.commit(id, body.length, listener, Runnable::run);
                        }
                    } catch (IOException | RuntimeException e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                }, "test-loop-" + loop);
                loops.add(t);
                t.start();
            }
            for (Thread t : loops) {
                t.join(TimeUnit.SECONDS.toMillis(SpoolTestSupport.AWAIT_SECONDS));
            }
            assertEquals(List.of(), errors);
            listener.await();
            assertEquals(Map.of(), listener.failed);
            assertEquals(2 * perAppender, listener.committedOn.size());
            SpoolStats stats = spool.stats();
            assertEquals(2 * perAppender, stats.messages());
            assertTrue(stats.fsyncs() < stats.messages(), "batched: " + stats);
            assertTrue(stats.batches() < stats.messages(), "batched: " + stats);
            assertTrue(stats.maxBatch() > 1, "batched: " + stats);
            assertEquals(2 * perAppender, spool.list().size());
        }
    }

    @Test
    void secondReadWriteOpenFailsWithClearMessage() throws Exception {
        try (Spool spool = Spool.open(dir, SpoolOptions.defaults())) {
            IOException e = assertThrows(IOException.class, () -> Spool.open(dir, SpoolOptions.defaults()));
            assertTrue(e.getMessage().contains("is locked by another server"), e.getMessage());
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
            assertFalse(spool.isReadOnly());
        }
        Spool.open(dir, SpoolOptions.defaults()).close(); // released on close
    }

    @Test
    void deleteFromReadOnlyWhileServerRunsIsDurable() throws Exception {
        QueueId keep;
        QueueId gone;
        try (Spool server = Spool.open(dir, SpoolOptions.defaults())) {
            SpoolAppender appender = server.appender(0);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(2);
            keep = write(appender, envelope("keep@example.com"), content(5, 2000), 500);
            appender.commit(keep, 2000, listener, Runnable::run);
            gone = write(appender, envelope("gone@example.com"), content(6, 2000), 500);
            appender.commit(gone, 2000, listener, Runnable::run);
            listener.await();
            try (Spool cli = Spool.openReadOnly(dir)) {
                assertEquals(List.of(keep, gone), ids(cli));
                assertArrayEquals(content(6, 2000), read(cli, gone));
                assertTrue(cli.delete(gone));
                assertFalse(cli.delete(gone), "second delete finds nothing");
                assertEquals(List.of(keep), ids(cli));
            }
            assertEquals(List.of(keep), ids(server), "server picks up the CLI's tombstone");
        }
        try (Spool server = Spool.open(dir, SpoolOptions.defaults())) {
            assertEquals(List.of(keep), ids(server));
            assertArrayEquals(content(5, 2000), read(server, keep));
        }
    }

    @Test
    void segmentsWithNoLiveMessageAreDeleted() throws Exception {
        try (Spool server = Spool.open(dir, SpoolOptions.defaults())) {
            SpoolAppender appender = server.appender(0);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            QueueId id = write(appender, envelope("x@example.com"), content(7, 100), 100);
            appender.commit(id, 100, listener, Runnable::run);
            listener.await();
            assertTrue(server.remove(id));
            assertEquals(1, segmentFiles().size(), "the active segment stays");
        }
        try (Spool server = Spool.open(dir, SpoolOptions.defaults())) {
            assertEquals(List.of(), server.list());
            assertEquals(List.of(), segmentFiles(), "no live message: segment deleted at start");
        }
    }

    @Test
    void messagesSpanRolledSegmentsAndEmptiedSealedSegmentsGo() throws Exception {
        SpoolOptions tiny = SpoolOptions.defaults().withSegmentMaxBytes(4096).withMaxRecordPayloadBytes(1000);
        byte[] a = content(8, 20_000);
        byte[] b = content(9, 15_000);
        QueueId idA;
        QueueId idB;
        try (Spool spool = Spool.open(dir, tiny)) {
            SpoolAppender appender = spool.appender(3);
            idA = appender.begin(envelope("a@example.com"));
            idB = appender.begin(envelope("b@example.com"));
            for (int off = 0; off < a.length; off += 2500) { // interleave two sessions
                SpoolTestSupport.appendAll(appender, idA, a, off, Math.min(a.length, off + 2500), 2500);
                if (off < b.length) {
                    SpoolTestSupport.appendAll(appender, idB, b, off, Math.min(b.length, off + 2500), 2500);
                }
            }
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(2);
            appender.commit(idA, a.length, listener, Runnable::run);
            appender.commit(idB, b.length, listener, Runnable::run);
            listener.await();
            assertTrue(segmentFiles().size() > 5, "rolled: " + segmentFiles());
            assertArrayEquals(a, read(spool, idA));
            assertTrue(spool.delete(idA));
            assertTrue(spool.delete(idB));
            List<Path> left = segmentFiles();
            assertEquals(1, left.stream().filter(p -> p.toString().endsWith(".seg")).count(),
                    "only the active segment is left: " + left);
            assertEquals(tiny.recycledSegmentsPerLoop(), left.stream().filter(p -> p.toString().endsWith(".free")).count(),
                    "emptied segments beyond those kept for reuse are deleted: " + left);
        }
        assertEquals(1, segmentFiles().size(), "kept files go at close: " + segmentFiles());
        try (Spool spool = Spool.open(dir, tiny)) {
            assertEquals(List.of(), spool.list());
        }
    }

    @Test
    void rolledSegmentsRecoverByteExact() throws Exception {
        SpoolOptions tiny = SpoolOptions.defaults().withSegmentMaxBytes(4096).withMaxRecordPayloadBytes(1000);
        List<QueueId> ids = new ArrayList<>();
        try (Spool spool = Spool.open(dir, tiny)) {
            SpoolAppender appender = spool.appender(0);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(10);
            for (int i = 0; i < 10; i++) {
                QueueId id = write(appender, envelope(i + "@example.com"), content(100 + i, 3000 + i), 700);
                appender.commit(id, 3000 + i, listener, Runnable::run);
                ids.add(id);
            }
            listener.await();
        }
        try (Spool spool = Spool.open(dir, tiny)) {
            assertEquals(ids, ids(spool));
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(content(100 + i, 3000 + i), read(spool, ids.get(i)));
            }
        }
    }

    @Test
    void commitRejectsSizeMismatchAndUnknownIds() throws Exception {
        try (Spool spool = Spool.open(dir, SpoolOptions.defaults())) {
            SpoolAppender appender = spool.appender(0);
            QueueId id = write(appender, envelope("a@example.com"), content(1, 10), 10);
            CommitListener never = new SpoolTestSupport.RecordingListener(1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> appender.commit(id, 11, never, Runnable::run));
            assertTrue(e.getMessage().contains("messageOctets=11 != appended octets=10"), e.getMessage());
            appender.abort(id);
            assertThrows(IllegalStateException.class, () -> appender.commit(id, 10, never, Runnable::run));
        }
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("segments"))) {
            return s.sorted().collect(Collectors.toList());
        }
    }
}
