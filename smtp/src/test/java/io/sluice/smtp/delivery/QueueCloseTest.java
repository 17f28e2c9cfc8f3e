package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.QueueId;

/**
 * A disk whose fsync hangs (the recipient journal's, through {@link RecipientJournal.FileForce})
 * must not hold {@link QueueManager#close} past its close timeout, whether the final fsync in
 * close hangs or the queue thread's own: one WARN, then the exit goes on. Nothing acknowledged
 * depends on it: the message stays in the spool until its removal is durable.
 */
class QueueCloseTest {
    private static final long AWAIT_SECONDS = 10;
    private static final Duration CLOSE_TIMEOUT = Duration.ofMillis(300);
    private static final Map<String, String> ROUTES = Map.of("*", "smtp:[relay.test]:25");

    @TempDir
    Path dir;

    private final CountDownLatch forceEntered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch forced = new CountDownLatch(1);
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(captured, true, StandardCharsets.UTF_8));
    private QueueBench bench;

    @AfterEach
    void releaseTheDisk() throws IOException {
        release.countDown(); // never leave a thread parked in a test's force
        log.close();
        if (bench != null) {
            bench.queue = null; // closed (or given up) by the test
            bench.close();
        }
    }

    /** The journal's fsync: blocks until {@link #release}, then fsyncs for real. */
    private void hangingForce(java.nio.channels.FileChannel channel) throws IOException {
        forceEntered.countDown();
        try {
            release.await(AWAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channel.force(false);
        forced.countDown();
    }

    @Test
    void closeGivesUpTheJournalsHangingFinalFsyncWithOneWarn() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        QueueId id = bench.enqueue("s@example.org", "a@example.net");
        QueueManager queue = new QueueManager(bench.spool, bench.spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(ROUTES, "mx.test"), route -> new ScriptedTransport(), QueueBench.defaults(), log,
                bench.clock::get, Runnable::run, bench.spoolDir);
        queue.recover();
        queue.closeTimeout(CLOSE_TIMEOUT);
        queue.journalForce(this::hangingForce);
        // An outcome the queue thread wrote but did not fsync yet: close's flush must fsync it.
        queue.journal().recordFinal(id.value(), 0, 1, RecipientResult.delivered("a@example.net", "ok"),
                QueueBench.T0);

        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(AWAIT_SECONDS), queue::close, "close is bounded");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the final fsync was the one hanging");
        assertTrue(tookMillis >= CLOSE_TIMEOUT.toMillis() - 5 && tookMillis < AWAIT_SECONDS * 1000,
                "gave up at the timeout: " + tookMillis + " ms");
        assertTrue(bench.inSpool(id), "the message is still spooled: a redelivery at worst, never a loss");

        release.countDown(); // the disk comes back: the closing thread finishes its fsync
        assertTrue(forced.await(AWAIT_SECONDS, TimeUnit.SECONDS));
        log.close();
        assertEquals(1, count("WARN queue-close-timeout"), captured.toString(StandardCharsets.UTF_8));
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("final fsync hangs"));
    }

    @Test
    void closeGivesUpAQueueThreadStuckInAJournalFsync() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        bench.enqueue("s@example.org", "a@example.net");
        QueueManager queue = new QueueManager(bench.spool, bench.spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(ROUTES, "mx.test"), route -> new ScriptedTransport(), QueueBench.defaults(), log,
                System::currentTimeMillis, Runnable::run, bench.spoolDir);
        queue.closeTimeout(CLOSE_TIMEOUT);
        queue.journalForce(this::hangingForce);
        queue.start(); // delivers on its thread, then fsyncs the outcome: that fsync hangs
        assertTrue(forceEntered.await(AWAIT_SECONDS, TimeUnit.SECONDS), "the queue thread reached its fsync");

        assertTimeoutPreemptively(Duration.ofSeconds(AWAIT_SECONDS), queue::close, "close is bounded");
        release.countDown();
        assertTrue(forced.await(AWAIT_SECONDS, TimeUnit.SECONDS));
        log.close();
        String logged = captured.toString(StandardCharsets.UTF_8);
        assertEquals(1, count("WARN queue-close-timeout"), logged);
        assertTrue(logged.contains("queue thread is still in a journal write or fsync"), logged);
        assertEquals(0, count("queue-journal-close-failed"), "the journal is not closed under the thread");
    }

    private int count(String what) {
        String text = captured.toString(StandardCharsets.UTF_8);
        int n = 0;
        for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
            n++;
        }
        return n;
    }
}
