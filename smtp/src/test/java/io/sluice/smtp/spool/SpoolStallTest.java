package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.AWAIT_SECONDS;
import static io.sluice.smtp.spool.SpoolTestSupport.commitOne;
import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hanging disk, simulated by segment channels whose {@code force} blocks on a latch: the spool
 * reports the stall after {@code syncStallTimeoutNanos} (one WARN), answers nothing while it lasts,
 * commits once it ends (one INFO); and {@link Spool#close} returns within its bound while the fsync
 * still hangs, leaving a spool from which a restart recovers every acknowledged message and that
 * the stuck writer, when its fsync returns at last, no longer touches.
 */
class SpoolStallTest {
    private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long CLOSE_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSyncStallTimeoutNanos(STALL_NANOS).withCloseTimeoutNanos(CLOSE_NANOS);

    @TempDir
    Path tmp;

    private final CountDownLatch forceEntered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private volatile boolean hang;
    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Logger writerLog = Logger.getLogger(SpoolWriter.class.getName());
    private final Handler recorder = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void recordLog() {
        writerLog.addHandler(recorder);
    }

    @AfterEach
    void releaseAndStopRecording() {
        release.countDown(); // never leave a writer parked in a test's force
        writerLog.removeHandler(recorder);
    }

    /** Segment channels whose force blocks (until {@link #release}) while {@link #hang} is set. */
    private SegmentChannelFactory hangingDisk() {
        return path -> {
            FailingFileChannel ch = new FailingFileChannel(SegmentChannelFactory.DEFAULT.create(path),
                    Integer.MAX_VALUE, false);
            ch.beforeForce = () -> {
                if (hang) {
                    forceEntered.countDown();
                    awaitQuietly(release);
                }
            };
            return ch;
        };
    }

    @Test
    void aStalledRoundIsReportedOnceAnswersNothingAndCommitsWhenTheDiskReturns() throws Exception {
        QueueId acked;
        QueueId stalled;
        try (Spool spool = Spool.open(tmp, OPTIONS, hangingDisk())) {
            SpoolAppender appender = spool.appender(0);
            acked = commitOne(appender, envelope("a@example.com"), content(1, 500));
            assertNull(spool.unhealthyReason());

            hang = true;
            byte[] body = content(2, 500);
            stalled = write(appender, envelope("b@example.com"), body, body.length);
            SpoolTestSupport.RecordingListener answer = new SpoolTestSupport.RecordingListener(1);
            appender.commit(stalled, body.length, answer, Runnable::run);
            assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the writer reached its fsync");

            awaitCondition(() -> spool.unhealthyReason() != null, "stall reported");
            String reason = spool.unhealthyReason();
            assertTrue(reason.startsWith("spool fsync stalled for "), reason);
            assertTrue(reason.endsWith("(segment " + Segment.fileName(0, 0) + ")"), reason);
            assertTrue(spool.commitsStalled());
            assertTrue(spool.fsyncRoundAgeNanos() >= STALL_NANOS, "age " + spool.fsyncRoundAgeNanos());
            assertNotNull(spool.unhealthyReason(), "asked again");
            assertTrue(answer.committedOn.isEmpty() && answer.failed.isEmpty(), "no 250 while the fsync hangs");
            assertEquals(1, count(Level.WARNING, "spool fsync stalled for "), "one WARN however often asked");

            hang = false;
            release.countDown();
            answer.await();
            assertEquals(Set.of(stalled), answer.committedOn.keySet(), "committed once the fsync returned");
            assertNull(spool.unhealthyReason(), "the stall clears with its round");
            assertFalse(spool.commitsStalled());
            assertEquals(0, spool.fsyncRoundAgeNanos());
            assertTrue(spool.longestFsyncRoundNanos() >= STALL_NANOS);
            assertEquals(1, count(Level.INFO, "spool fsync round completed after "));
            assertEquals(1, count(Level.WARNING, "spool fsync stalled for "), "not logged again at the end");
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(acked, stalled), ids(spool));
        }
    }

    @Test
    void aRoundThatEndsLateIsLoggedByTheWriterWhenNoOneAsked() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS, hangingDisk())) {
            SpoolAppender appender = spool.appender(0);
            hang = true;
            byte[] body = content(3, 200);
            QueueId id = write(appender, envelope("c@example.com"), body, body.length);
            SpoolTestSupport.RecordingListener answer = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, body.length, answer, Runnable::run);
            assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS));
            awaitCondition(() -> spool.fsyncRoundAgeNanos() >= STALL_NANOS, "round past the stall timeout");
            assertEquals(0, count(Level.WARNING, ""), "no one looked yet");
            release.countDown();
            answer.await();
            assertEquals(1, count(Level.WARNING, "spool fsync stalled for "), "the writer's own late WARN");
            assertEquals(1, count(Level.INFO, "spool fsync round completed after "));
        }
    }

    @Test
    void closeReturnsWithinItsBoundWhileTheFsyncHangsAndRestartRecoversTheAcknowledged() throws Exception {
        Spool spool = Spool.open(tmp, OPTIONS, hangingDisk());
        SpoolAppender appender = spool.appender(0);
        List<QueueId> acked = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            acked.add(commitOne(appender, envelope("a" + i + "@example.com"), content(10 + i, 700)));
        }
        hang = true;
        byte[] body = content(20, 700);
        QueueId unanswered = write(appender, envelope("late@example.com"), body, body.length);
        SpoolTestSupport.RecordingListener answer = new SpoolTestSupport.RecordingListener(1);
        appender.commit(unanswered, body.length, answer, Runnable::run);
        assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS));

        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(AWAIT_SECONDS), spool::close, "close is bounded");
        long tookNanos = System.nanoTime() - start;
        assertTrue(tookNanos >= CLOSE_NANOS, "waited its bound first: " + tookNanos);
        assertEquals(1, count(Level.WARNING, "1 commit requests unanswered"), messages());
        assertTrue(answer.committedOn.isEmpty() && answer.failed.isEmpty(), "never acknowledged");
        List<String> filesAtClose = files();

        // The fsync still hangs; a new server takes the spool (the lock was released).
        try (Spool restarted = Spool.open(tmp, OPTIONS)) {
            List<QueueId> recovered = ids(restarted);
            assertTrue(recovered.containsAll(acked), "every acknowledged message is back: " + recovered);
            // The unanswered one's COMMIT record is whole in the page cache: recovered as after a
            // crash at that moment (its client got no 250 and retries: a duplicate, not a loss).
            Set<QueueId> allowed = new TreeSet<>(acked);
            allowed.add(unanswered);
            assertTrue(allowed.containsAll(recovered), "nothing else: " + recovered);
            List<QueueId> before = recovered;

            release.countDown(); // the disk comes back under the old, given-up writer
            assertTrue(spool.awaitWriterStopped(TimeUnit.SECONDS.toMillis(AWAIT_SECONDS)), "old writer ended");
            assertTrue(answer.committedOn.isEmpty() && answer.failed.isEmpty(), "a given-up writer answers nothing");
            assertEquals(filesAtClose, files(), "and renames or deletes nothing");
            assertEquals(before, ids(restarted));
        }
        try (Spool again = Spool.open(tmp, OPTIONS)) {
            assertTrue(ids(again).containsAll(acked), "still there after the old writer woke: " + ids(again));
        }
    }

    @Test
    void aWriterGivenUpWhileAnsweringKeepsTheLockAndStopsAfterThatRound() throws Exception {
        Spool spool = Spool.open(tmp, OPTIONS);
        SpoolAppender appender = spool.appender(0);
        CountDownLatch inDurable = new CountDownLatch(1);
        byte[] body = content(50, 300);
        QueueId first = write(appender, envelope("a@example.com"), body, body.length);
        // Holds the writer inside its answers, as a hanging tombstone fsync would.
        SpoolTestSupport.RecordingListener held = SpoolTestSupport.RecordingListener.holdingWriter(1, inDurable, release);
        appender.commit(first, body.length, held, Runnable::run);
        assertTrue(inDurable.await(AWAIT_SECONDS, TimeUnit.SECONDS));
        QueueId second = write(appender, envelope("b@example.com"), body, body.length);
        SpoolTestSupport.RecordingListener queued = new SpoolTestSupport.RecordingListener(1);
        appender.commit(second, body.length, queued, Runnable::run);

        assertTimeoutPreemptively(Duration.ofSeconds(AWAIT_SECONDS), spool::close, "close is bounded");
        assertEquals(1, count(Level.WARNING, "giving it up after that round"), messages());
        IOException locked = assertThrows(IOException.class,
                () -> Spool.open(tmp, OPTIONS), "the writer may still release segments: the lock stays");
        assertTrue(locked.getMessage().contains("locked"), locked.getMessage());

        release.countDown();
        held.await();
        assertEquals(Set.of(first), held.committedOn.keySet(), "the round it was answering is finished");
        assertTrue(spool.awaitWriterStopped(TimeUnit.SECONDS.toMillis(AWAIT_SECONDS)), "then it stops");
        assertTrue(queued.committedOn.isEmpty() && queued.failed.isEmpty(), "and answers nothing more");
    }

    @Test
    void closeIsBoundedWhenTheDiskHangsBetweenCommits() throws Exception {
        Logger spoolLog = Logger.getLogger(Spool.class.getName());
        spoolLog.addHandler(recorder);
        try {
            Spool spool = Spool.open(tmp, OPTIONS, hangingDisk());
            QueueId acked = commitOne(spool.appender(0), envelope("a@example.com"), content(40, 300));
            hang = true; // the writer is idle: close's own fsync of the open segment is what hangs
            assertTimeoutPreemptively(Duration.ofSeconds(AWAIT_SECONDS), spool::close, "close is bounded");
            assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "close's fsync was the one hanging");
            assertEquals(1, count(Level.WARNING, "did not finish within spool.close_timeout"), messages());
            assertTrue(Files.exists(tmp.resolve("segments").resolve(Segment.fileName(0, 0))));
            release.countDown(); // the closing thread finishes and releases the lock only now
            Spool again = awaitOpen();
            try {
                assertEquals(List.of(acked), ids(again));
            } finally {
                again.close();
            }
        } finally {
            spoolLog.removeHandler(recorder);
        }
    }

    /** Opens the spool once the lock is free (a given-up close releases it when its fsync returns). */
    private Spool awaitOpen() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (true) {
            try {
                return Spool.open(tmp, OPTIONS);
            } catch (IOException e) {
                assertTrue(e.getMessage().contains("locked") && System.nanoTime() - deadline < 0, e.getMessage());
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
    }

    @Test
    void aHealthyCloseStillAnswersEverythingWithinItsBound() throws Exception {
        SpoolTestSupport.RecordingListener answers = new SpoolTestSupport.RecordingListener(20);
        List<QueueId> ids = new ArrayList<>();
        try (Spool spool = Spool.open(tmp, OPTIONS.withCloseTimeoutNanos(TimeUnit.SECONDS.toNanos(AWAIT_SECONDS)))) {
            SpoolAppender appender = spool.appender(0);
            for (int i = 0; i < 20; i++) {
                byte[] body = content(30 + i, 300);
                QueueId id = write(appender, envelope("h@example.com"), body, body.length);
                appender.commit(id, body.length, answers, Runnable::run);
                ids.add(id);
            }
        }
        answers.await();
        assertEquals(new TreeSet<>(ids), new TreeSet<>(answers.committedOn.keySet()));
        assertEquals(0, count(Level.WARNING, ""), messages());
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(ids, ids(spool));
        }
    }

    private long count(Level level, String prefix) {
        return logged.stream().filter(r -> r.getLevel() == level && formatted(r).contains(prefix)).count();
    }

    private String messages() {
        return logged.stream().map(SpoolStallTest::formatted).collect(Collectors.joining(" | "));
    }

    private static String formatted(LogRecord r) {
        Object[] params = r.getParameters();
        return params == null ? r.getMessage() : java.text.MessageFormat.format(r.getMessage(), params);
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }

    /** Polls a condition that another thread makes true, for at most AWAIT_SECONDS. */
    private static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, what + " within " + AWAIT_SECONDS + "s");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
