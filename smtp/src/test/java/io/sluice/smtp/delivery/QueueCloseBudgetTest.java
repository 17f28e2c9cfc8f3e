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

/**
 * QueueManager.close used to spend its whole spool.close_timeout (min 1 s) waiting for the
 * owned delivery workers (min(5 s, what is left)), so with a blocking attempt in flight the
 * journal's final close is given 0 ns and is "given up" although the disk is fine.
 */
class QueueCloseBudgetTest {
    private static final Map<String, String> ROUTES = Map.of("*", "smtp:[relay.test]:25");

    @TempDir
    Path dir;

    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(captured, true, StandardCharsets.UTF_8));
    private QueueBench bench;

    @AfterEach
    void cleanUp() throws IOException {
        release.countDown();
        log.close();
        if (bench != null) {
            bench.queue = null;
            bench.close();
        }
    }

    /** A blocking transport (a maildir on a slow mount, say) that holds its worker until released. */
    private final Transport slow = new Transport() {
        @Override
        public void deliver(DeliveryJob job, DeliveryCallback callback) {
            entered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (String r : job.recipients()) {
                callback.completed(RecipientResult.delivered(r, "ok"));
            }
        }

        @Override
        public boolean blocking() {
            return true;
        }
    };

    @Test
    void aSlowWorkerDoesNotMakeCloseGiveUpAHealthyJournal() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        bench.enqueue("s@example.org", "a@example.net");
        QueueManager queue = new QueueManager(bench.spool, bench.spool.appender(QueueManager.INTERNAL_LOOP_INDEX),
                TransportTable.of(ROUTES, "mx.test"), route -> slow, QueueBench.defaults(), log,
                System::currentTimeMillis, null, bench.spoolDir); // null: the queue owns its worker pool
        queue.closeTimeout(Duration.ofSeconds(1)); // spool.close_timeout's minimum
        queue.start();
        assertTrue(entered.await(10, TimeUnit.SECONDS), "the attempt is in flight on a worker");

        assertTimeoutPreemptively(Duration.ofSeconds(10), queue::close);
        log.close();
        String logged = captured.toString(StandardCharsets.UTF_8);
        // The journal's fsync never hangs here (no FileForce seam): nothing to give up.
        assertEquals(-1, logged.indexOf("queue-close-timeout"), logged);
    }
}
