package io.sluice.smtp.delivery;

import static io.sluice.smtp.delivery.QueueBench.MINUTE;
import static io.sluice.smtp.delivery.QueueBench.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.QueueId;

/**
 * Recipient state survives a crash: the journal written by one queue manager is applied by the
 * next one, so a delivered recipient is not sent again and a deferred one keeps its schedule.
 */
class QueueDurableStateTest {
    private static final Map<String, String> ROUTES = Map.of("*", "lmtp:[127.0.0.1]:24");

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
    void aDeliveredRecipientIsNotSentAgainAfterACrash() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport first = new ScriptedTransport();
        first.script = r -> r.startsWith("done") ? RecipientResult.delivered(r, "ok")
                : RecipientResult.deferred(r, "4.4.1", "no answer");
        QueueId id = bench.enqueue("s@example.org", "done@example.net", "later@example.net");
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> first);
        bench.drive(() -> q1.delivered() == 1 && q1.deferred() == 1, "one delivered, one deferred");
        bench.settle(); // the cycle's journal records are written (not necessarily fsynced)

        bench.crashAndReopen();
        ScriptedTransport second = new ScriptedTransport();
        bench.clock.set(T0 + MINUTE);
        QueueManager q2 = bench.start(QueueBench.defaults(), ROUTES, route -> second);
        bench.settle();
        assertEquals(List.of(), second.jobs, "nothing is due a minute after the deferral");
        List<String> status = q2.control(QueueControl.STATUS);
        assertEquals(2, status.size(), status.toString());
        QueueControl.RecipientStatus done = QueueControl.RecipientStatus.parse(status.get(0));
        QueueControl.RecipientStatus later = QueueControl.RecipientStatus.parse(status.get(1));
        assertEquals("delivered", done.state());
        assertEquals("deferred", later.state());
        assertEquals(1, later.attempts());
        assertEquals(T0 + 5 * MINUTE, later.nextAttemptMillis(), "the retry time survived");
        assertEquals("451 4.4.1 no answer", later.lastReply());

        bench.clock.set(T0 + 5 * MINUTE);
        bench.drive(() -> !bench.inSpool(id), "the deferred recipient is delivered at its retry time");
        assertEquals(1, second.jobs.size());
        assertEquals(List.of("later@example.net"), second.job(0).recipients(), "only the one not yet delivered");
    }

    @Test
    void aRecipientFailedBeforeTheCrashIsBouncedAfterIt() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport first = new ScriptedTransport();
        first.script = r -> r.startsWith("bad") ? RecipientResult.failed(r, "5.1.1", "No such user")
                : RecipientResult.deferred(r, "4.4.1", "no answer");
        bench.enqueue("sender@example.org", "bad@example.net", "later@example.net");
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> first);
        bench.drive(() -> q1.failed() == 1 && q1.deferred() == 1, "one failed, one deferred");
        bench.settle();

        bench.crashAndReopen();
        ScriptedTransport second = new ScriptedTransport();
        bench.clock.set(T0 + 5 * MINUTE);
        QueueManager q2 = bench.start(QueueBench.defaults(), ROUTES, route -> second);
        bench.drive(() -> q2.bounces() == 1 && bench.spool.list().isEmpty(), "retried, bounced, removed");
        assertEquals(List.of("later@example.net"), second.job(0).recipients(), "the failed one is not tried again");
        String dsn = second.content(1);
        assertTrue(dsn.contains("Final-Recipient: rfc822; bad@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                + "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"), dsn);
    }

    @Test
    void aMessageWhoseRecipientsWereAllFinalIsRemovedAtStart() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        QueueId id = bench.enqueue("s@example.org", "a@example.net");
        long raw = id.value();
        // As if the process died after the outcome was journalled but before the removal.
        RecipientJournal j = RecipientJournal.in(bench.spoolDir);
        j.recordFinal(raw, 0, 1, RecipientResult.delivered("a@example.net", "ok"), T0);
        j.close();
        ScriptedTransport transport = new ScriptedTransport();
        bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        bench.settle();
        assertFalse(bench.inSpool(id));
        assertEquals(List.of(), transport.jobs);
    }

    @Test
    void theJournalSkipsATornTailAndGarbageAndIsCompactedAtStart() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        QueueId live = bench.enqueue("s@example.org", "a@example.net", "b@example.net");
        RecipientJournal j = RecipientJournal.in(bench.spoolDir);
        for (int i = 0; i < 100; i++) { // a gone message's records: dropped by compaction
            j.recordDeferred(12345, 0, i, RecipientResult.deferred("x@y", "4.0.0", "again"), T0);
        }
        j.recordFinal(live.value(), 1, 3, RecipientResult.delivered("b@example.net", "ok"), T0);
        j.close();
        Path file = bench.spoolDir.resolve(RecipientJournal.FILE_NAME);
        Files.write(file, new byte[] {0x53, 0x52, 0x4A, 0x4C, 0, 40, 1, 2, 3}, StandardOpenOption.APPEND); // torn
        long before = Files.size(file);

        Map<Long, RecipientJournal.MessageRecord> read = RecipientJournal.read(bench.spoolDir);
        assertEquals(2, read.size());
        assertEquals(99, read.get(12345L).recipient(0).attempts(), "the last record wins");
        assertTrue(read.get(live.value()).recipient(1).isFinal());

        ScriptedTransport transport = new ScriptedTransport();
        bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        assertTrue(Files.size(file) < before / 10, "compacted: " + Files.size(file) + " of " + before);
        Map<Long, RecipientJournal.MessageRecord> after = RecipientJournal.read(bench.spoolDir);
        assertEquals(List.of(live.value()), List.copyOf(after.keySet()));
        bench.drive(() -> !bench.inSpool(live), "delivered");
        assertEquals(List.of("a@example.net"), transport.job(0).recipients());
    }

    @Test
    void retryNowMakesDeferredRecipientsDueAndIsHonouredFromTheJournalOffline() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> transport.jobs.size() == 1 ? RecipientResult.deferred(r, "4.4.1", "no answer")
                : RecipientResult.delivered(r, "ok");
        QueueId one = bench.enqueue("s@example.org", "a@example.net");
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        bench.drive(() -> q1.deferred() == 1, "deferred");
        assertEquals(List.of("OK 0"), q1.control("RETRY 0000000000000"), "no such message");
        assertEquals(List.of("OK 1"), q1.control("RETRY " + one));
        bench.drive(() -> !bench.inSpool(one), "retried at once, delivered");
        assertEquals(2, transport.jobs.size());

        // Offline: the CLI journals "retry now"; the next start honours it.
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "no answer");
        QueueId two = bench.enqueue("s@example.org", "b@example.net");
        bench.drive(() -> q1.deferred() == 2, "second message deferred");
        bench.settle();
        bench.crashAndReopen();
        RecipientJournal.appendRetryNow(bench.spoolDir, 0);
        transport.script = r -> RecipientResult.delivered(r, "ok");
        bench.clock.set(T0 + MINUTE);
        QueueManager q2 = bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        bench.drive(() -> !bench.inSpool(two), "due at once after the journalled retry");
        assertEquals(1, q2.delivered());
    }

    @Test
    void deleteThroughTheControlRequestForgetsTheMessage() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "no answer");
        QueueId id = bench.enqueue("s@example.org", "a@example.net");
        QueueManager q = bench.start(QueueBench.defaults(), ROUTES, route -> transport);
        bench.drive(() -> q.deferred() == 1, "deferred");
        assertEquals(List.of("OK 1"), q.control("DELETE " + id));
        assertFalse(bench.inSpool(id));
        assertEquals(List.of(), q.control(QueueControl.STATUS));
        bench.clock.set(T0 + 10 * MINUTE);
        bench.settle();
        assertEquals(1, transport.jobs.size(), "never tried again");
    }

    @Test
    void oneDelayNoticeOnceTheMessageIsOldEnoughAndNotAfterARestart() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> r.startsWith("slow") ? RecipientResult.deferred(r, "4.4.1", "Connection timed out")
                : RecipientResult.delivered(r, "ok");
        DeliveryOptions options = QueueBench.options(20, Duration.ofMinutes(40), Duration.ofHours(1), 0, Map.of(),
                Map.of());
        QueueId id = bench.enqueue("sender@example.org", "slow@example.net", "fast@example.net");
        QueueManager q1 = bench.start(options, ROUTES, route -> transport);
        bench.drive(() -> q1.deferred() == 1 && q1.delivered() == 1, "slow deferred");
        bench.clock.set(T0 + 40 * MINUTE);
        bench.drive(() -> q1.deferred() == 2, "second deferral");
        bench.settle();
        assertEquals(0, q1.delayNotices(), "not yet an hour old");

        bench.clock.set(T0 + 60 * MINUTE);
        bench.drive(() -> q1.delayNotices() == 1, "a timer at the warning age sends the notice");
        bench.drive(() -> transport.jobs.stream().anyMatch(j -> j.sender().isEmpty()), "notice delivered");
        DeliveryJob notice = transport.jobs.stream().filter(j -> j.sender().isEmpty()).findFirst().orElseThrow();
        assertEquals(List.of("sender@example.org"), notice.recipients());
        String dsn = transport.content(transport.jobs.indexOf(notice));
        assertTrue(dsn.contains("Subject: Delayed Mail (still being retried)\r\n"), dsn);
        assertTrue(dsn.contains("Final-Recipient: rfc822; slow@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
                + "Diagnostic-Code: smtp; 451 4.4.1 Connection timed out\r\n"), dsn);
        assertTrue(dsn.contains("Will-Retry-Until: "), dsn);
        assertFalse(dsn.contains("fast@example.net"), "a delivered recipient is not reported");

        bench.clock.set(T0 + 80 * MINUTE);
        bench.drive(() -> q1.deferred() == 3, "third deferral");
        bench.settle();
        assertEquals(1, q1.delayNotices(), "once per message");

        bench.crashAndReopen();
        bench.clock.set(T0 + 120 * MINUTE);
        QueueManager q2 = bench.start(options, ROUTES, route -> transport);
        bench.drive(() -> q2.deferred() == 1, "deferred again after the restart");
        bench.settle();
        assertEquals(0, q2.delayNotices(), "the notice was remembered across the restart");
        assertTrue(bench.inSpool(id));
        assertNotNull(q2);
    }

    @Test
    void noDelayNoticeToTheNullSender() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport transport = new ScriptedTransport();
        transport.script = r -> RecipientResult.deferred(r, "4.4.1", "no answer");
        DeliveryOptions options = QueueBench.options(20, Duration.ofMinutes(40), Duration.ofMinutes(30), 0, Map.of(),
                Map.of());
        bench.enqueue("", "slow@example.net");
        QueueManager q = bench.start(options, ROUTES, route -> transport);
        bench.drive(() -> q.deferred() == 1, "deferred");
        bench.clock.set(T0 + 40 * MINUTE);
        bench.drive(() -> q.deferred() == 2, "deferred again past the warning age");
        bench.settle();
        assertEquals(0, q.delayNotices());
    }
}
