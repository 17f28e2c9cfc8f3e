package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.AWAIT_SECONDS;
import static io.sluice.smtp.spool.SpoolTestSupport.commitOne;
import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stall watchdog watches the writer's progress, not only its commit rounds: a writer blocked
 * on the deletion journal (its own lazy fsync of deleted.log waiting for the journal's monitor,
 * held by a delivery thread whose tombstone fsync hangs) or a writer that died must make
 * {@code commitsStalled()} true (MAIL 451) and the spool unhealthy. The hanging fsync is simulated
 * by holding the journal's monitor. Found by the session-6 review; both failed before.
 */
class WriterStallCoverageTest {
    private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    @TempDir
    Path tmp;

    @Test
    void aWriterBlockedOnTheDeletionJournalIsReportedAsStalled() throws Exception {
        SpoolOptions options = SpoolOptions.defaults().withSyncStallTimeoutNanos(STALL_NANOS);
        try (Spool spool = Spool.open(tmp, options)) {
            SpoolAppender appender = spool.appender(0);
            List<QueueId> delivered = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                delivered.add(commitOne(appender, envelope("d" + i + "@example.com"), content(i, 300)));
            }
            Object journal = field(spool, "journal");
            Thread writer = (Thread) field(field(spool, "writer"), "thread");
            SpoolTestSupport.RecordingListener answer = new SpoolTestSupport.RecordingListener(1);
            synchronized (journal) { // as a delivery thread inside journal.append whose fsync hangs
                for (int i = 0; i < delivered.size() && !spool.removalsUnsynced(); i++) {
                    spool.remove(delivered.get(i)); // reentrant: the lazy path sets syncDueNanos
                }
                assertTrue(spool.removalsUnsynced(), "a lazily journalled removal waits for its fsync");
                awaitCondition(() -> writer.getState() == Thread.State.BLOCKED,
                        "the writer reached journal.sync() and waits for the journal's monitor");

                byte[] body = content(99, 300);
                QueueId waiting = write(appender, envelope("w@example.com"), body, body.length);
                appender.commit(waiting, body.length, answer, Runnable::run);
                long deadline = System.nanoTime() + 10 * STALL_NANOS;
                while (!spool.commitsStalled() && System.nanoTime() - deadline < 0) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
                boolean unanswered = answer.committedOn.isEmpty() && answer.failed.isEmpty();
                boolean stalled = spool.commitsStalled();
                String health = spool.unhealthyReason();
                assertTrue(unanswered, "precondition: the blocked writer answers nothing");
                assertTrue(stalled && health != null, "a commit unanswered for 10 x spool.sync_stall_timeout"
                        + " (writer " + writer.getState() + " on deleted.log): commitsStalled()=" + stalled
                        + ", unhealthyReason()=" + health);
            }
            answer.await(); // the monitor is free again: the writer goes on
        }
    }

    /** Same gap, other cause: a writer that died (a throwing durable consumer) is not refused at MAIL either. */
    @Test
    void aDeadWriterIsReportedAsStalled() throws Exception {
        SpoolOptions options = SpoolOptions.defaults().withSyncStallTimeoutNanos(STALL_NANOS);
        try (Spool spool = Spool.open(tmp, options)) {
            SpoolAppender appender = spool.appender(0);
            Thread writer = (Thread) field(field(spool, "writer"), "thread");
            spool.onDurable(m -> {
                throw new IllegalStateException("a consumer bug");
            });
            byte[] body = content(7, 300);
            QueueId first = write(appender, envelope("a@example.com"), body, body.length);
            appender.commit(first, body.length, new SpoolTestSupport.RecordingListener(1), Runnable::run);
            writer.join(TimeUnit.SECONDS.toMillis(AWAIT_SECONDS));
            assertTrue(!writer.isAlive(), "precondition: the writer died");
            SpoolTestSupport.RecordingListener answer = new SpoolTestSupport.RecordingListener(1);
            QueueId second = write(appender, envelope("b@example.com"), body, body.length);
            appender.commit(second, body.length, answer, Runnable::run);
            assertTrue(spool.unhealthyReason() != null, "health knows: " + spool.unhealthyReason());
            assertTrue(spool.commitsStalled(), "MAIL still gets 250 and this commit waits forever (answered: "
                    + answer.committedOn + answer.failed + ")");
        }
    }

    private static Object field(Object owner, String name) throws ReflectiveOperationException {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, what + " within " + AWAIT_SECONDS + "s");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }
}
