package io.sluice.smtp.delivery;

import static io.sluice.smtp.delivery.QueueBench.MINUTE;
import static io.sluice.smtp.delivery.QueueBench.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.QueueId;

/**
 * recipients.log is rewritten from the queue's state while the server runs: it stays bounded while
 * messages flow, and a crash after any number of rewrites (or between a rewrite's tmp file and its
 * rename) keeps every recipient's state: delivered ones are not sent again, deferred ones keep
 * their attempts and schedule.
 */
class RecipientJournalCompactionTest {
    private static final Map<String, String> ROUTES = Map.of("*", "lmtp:[127.0.0.1]:24");
    private static final long MIN_COMPACT_BYTES = 2048;
    private static final int ROUNDS = 12;

    @TempDir
    Path dir;

    private QueueBench bench;

    @AfterEach
    void close() throws IOException {
        if (bench != null) {
            bench.close();
        }
    }

    @Test
    void theJournalStaysBoundedWhileMessagesFlowAndACrashKeepsEveryRecipientsState() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> r.startsWith("slow") ? RecipientResult.deferred(r, "4.4.1", "Connection timed out")
                : RecipientResult.delivered(r, "ok");
        List<QueueId> slow = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            slow.add(bench.enqueue("s@example.org", "fast" + i + "@example.net", "slow" + i + "@example.net"));
        }
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        q1.journalMinCompactBytes(MIN_COMPACT_BYTES);
        Path file = bench.spoolDir.resolve(RecipientJournal.FILE_NAME);
        long maxBytes = 0;
        long appended = 0;
        for (int round = 0; round < ROUNDS; round++) {
            // Each round: 20 messages delivered and removed, and every slow recipient deferred once more.
            bench.clock.set(T0 + round * 5 * MINUTE);
            for (int m = 0; m < 20; m++) {
                QueueId id = bench.enqueue("s@example.org", "a" + m + "@example.net", "b" + m + "@example.net");
                bench.drive(() -> !bench.inSpool(id), "delivered and removed");
                maxBytes = Math.max(maxBytes, Files.size(file));
            }
            long deferrals = 5L * (round + 1);
            bench.drive(() -> q1.deferred() == deferrals, "slow recipients deferred again");
            bench.settle();
            maxBytes = Math.max(maxBytes, Files.size(file));
            appended += 20 * 2 * 40 + 5 * 60; // about 40 bytes per final, 60 per deferral
        }
        assertTrue(q1.journalCompactions() >= 5, "rewritten at runtime: " + q1.journalCompactions());
        assertTrue(maxBytes <= 3 * MIN_COMPACT_BYTES, "recipients.log bytes=" + maxBytes + " > 3 * MIN_COMPACT_BYTES="
                + 3 * MIN_COMPACT_BYTES + " (without rewrites about " + appended + ")");
        assertEquals(0, q1.errors());

        // A rewrite interrupted before its rename leaves a tmp file; this one would lose the slow
        // recipients (it says they were delivered) if recovery ever read it.
        RecipientJournal bogus = RecipientJournal.in(dir);
        for (QueueId id : slow) {
            bogus.recordFinal(id.value(), 1, 1, RecipientResult.delivered("slow@example.net", "ok"), T0);
        }
        bogus.close();
        Files.move(dir.resolve(RecipientJournal.FILE_NAME), bench.spoolDir.resolve(RecipientJournal.FILE_NAME + ".tmp"));

        bench.crashAndReopen();
        ScriptedTransport second = new ScriptedTransport();
        second.script = transport.script;
        long lastRetry = T0 + (ROUNDS - 1) * 5 * MINUTE;
        bench.clock.set(lastRetry + MINUTE);
        QueueManager q2 = bench.start(QueueBench.defaults(), ROUTES, route -> second);
        assertFalse(Files.exists(bench.spoolDir.resolve(RecipientJournal.FILE_NAME + ".tmp")), "stale tmp gone");
        bench.settle();
        assertEquals(List.of(), second.jobs, "nothing due: the fast recipients were delivered, the slow ones wait");
        List<String> status = q2.control(QueueControl.STATUS);
        assertEquals(10, status.size(), status.toString());
        for (String line : status) {
            QueueControl.RecipientStatus s = QueueControl.RecipientStatus.parse(line);
            assertTrue(slow.contains(s.id()), "only the slow messages are queued: " + line);
            if (s.index() == 0) {
                assertEquals("delivered", s.state(), line);
            } else {
                assertEquals("deferred", s.state(), line);
                assertEquals(ROUNDS, s.attempts(), line);
                assertEquals(lastRetry + 5 * MINUTE, s.nextAttemptMillis(), line);
                assertEquals("451 4.4.1 Connection timed out", s.lastReply(), line);
            }
        }
        second.script = r -> RecipientResult.delivered(r, "ok");
        bench.clock.set(lastRetry + 5 * MINUTE);
        bench.drive(() -> bench.spool.list().isEmpty(), "the slow recipients are delivered at their retry time");
        assertEquals(5, second.jobs.size());
        for (DeliveryJob job : second.jobs) {
            assertEquals(1, job.recipients().size(), "only the slow recipient: " + job.recipients());
            assertTrue(job.recipients().get(0).startsWith("slow"), job.recipients().toString());
        }
    }

    @Test
    void aCrashRightAfterARuntimeRewriteKeepsEveryRecipientsState() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> r.startsWith("slow") ? RecipientResult.deferred(r, "4.4.1", "no answer")
                : RecipientResult.delivered(r, "ok");
        QueueId kept = bench.enqueue("s@example.org", "fast@example.net", "slow@example.net");
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        q1.journalMinCompactBytes(MIN_COMPACT_BYTES);
        bench.drive(() -> q1.deferred() == 1, "slow deferred");
        long rewritesBefore = q1.journalCompactions();
        for (int m = 0; q1.journalCompactions() == rewritesBefore; m++) {
            assertTrue(m < 500, "a rewrite came");
            QueueId id = bench.enqueue("s@example.org", "x" + m + "@example.net");
            bench.drive(() -> !bench.inSpool(id), "delivered");
        }
        Map<Long, RecipientJournal.MessageRecord> onDisk = RecipientJournal.read(bench.spoolDir);
        assertEquals(List.of(kept.value()), List.copyOf(onDisk.keySet()), "only the queued message has records");

        bench.crashAndReopen();
        ScriptedTransport second = new ScriptedTransport();
        bench.clock.set(T0 + MINUTE);
        bench.start(QueueBench.defaults(), ROUTES, route -> second);
        bench.settle();
        assertEquals(List.of(), second.jobs, "the delivered recipient is not sent again; the slow one waits");
        bench.clock.set(T0 + 5 * MINUTE);
        bench.drive(() -> !bench.inSpool(kept), "the slow recipient is delivered at its retry time");
        assertEquals(List.of("slow@example.net"), second.job(0).recipients());
    }
}
