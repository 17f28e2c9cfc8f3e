package io.sluice.smtp.delivery;

import static io.sluice.smtp.delivery.QueueBench.MINUTE;
import static io.sluice.smtp.delivery.QueueBench.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * Restoring a quarantined segment redelivers its messages with their recipients' state: while a
 * {@code .corrupt} file is in segments/, recipients.log keeps the records of messages not newer
 * than its newest id through the start's rewrite and the runtime ones, so a recipient delivered
 * before the quarantine is not tried again after the restore; mail newer than the quarantined
 * files is not kept for them.
 */
class QuarantinedRecipientStateTest {
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

    /** Stops the queue (closed gracefully) and the spool, moves {@code from} to {@code to}, reopens the spool. */
    private void restartMoving(Path from, Path to) throws IOException {
        bench.queue.close();
        bench.queue = null;
        bench.spool.close();
        Files.move(from, to);
        bench.spool = Spool.open(bench.spoolDir, SpoolOptions.defaults());
        bench.client = bench.spool.appender(0);
    }

    /** Stops the queue (closed gracefully) and the spool, reopens the spool. */
    private void restart() throws IOException {
        bench.queue.close();
        bench.queue = null;
        bench.spool.close();
        bench.spool = Spool.open(bench.spoolDir, SpoolOptions.defaults());
        bench.client = bench.spool.appender(0);
    }

    private List<Path> segmentFiles(String glob) throws IOException {
        try (Stream<Path> files = Files.list(bench.spoolDir.resolve("segments"))) {
            return files.filter(p -> p.getFileSystem().getPathMatcher("glob:" + glob).matches(p.getFileName()))
                    .collect(Collectors.toList());
        }
    }

    @Test
    void aRestoredSegmentsMessageIsTriedOnlyForTheRecipientsNotYetDone() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        ScriptedTransport first = new ScriptedTransport();
        first.script = r -> r.startsWith("later") ? RecipientResult.deferred(r, "4.4.1", "no answer")
                : RecipientResult.delivered(r, "ok");
        QueueId id = bench.enqueue("s@example.org", "done@example.net", "later@example.net");
        QueueManager q1 = bench.start(QueueBench.defaults(), ROUTES, route -> first);
        bench.drive(() -> q1.delivered() == 1 && q1.deferred() == 1, "one delivered, one deferred");
        bench.settle();

        // The file is copied back under another number (as from a backup): the start quarantines it.
        List<Path> segments = segmentFiles("*.seg");
        assertEquals(1, segments.size(), segments.toString());
        Path original = segments.get(0);
        restartMoving(original, original.resolveSibling("00-000000000009.seg"));
        List<Path> quarantined = segmentFiles("*.corrupt");
        assertEquals(1, quarantined.size(), "quarantined: " + quarantined);
        assertFalse(bench.inSpool(id), "its message is not queued while quarantined");

        ScriptedTransport second = new ScriptedTransport();
        second.script = r -> RecipientResult.delivered(r, "ok");
        QueueManager q2 = bench.start(QueueBench.defaults(), ROUTES, route -> second);
        assertTrue(RecipientJournal.read(bench.spoolDir).containsKey(id.value()), "kept by the start's rewrite");
        q2.journalMinCompactBytes(512);
        long rewritesBefore = q2.journalCompactions();
        for (int m = 0; q2.journalCompactions() == rewritesBefore; m++) {
            assertTrue(m < 200, "a runtime rewrite came");
            QueueId newer = bench.enqueue("s@example.org", "x" + m + "@example.net");
            bench.drive(() -> !bench.inSpool(newer), "newer mail delivered");
        }
        Map<Long, RecipientJournal.MessageRecord> onDisk = RecipientJournal.read(bench.spoolDir);
        assertEquals(List.of(id.value()), List.copyOf(onDisk.keySet()),
                "the runtime rewrite keeps the quarantined message's records, and only those");

        // The operator restores the file under the name the WARN gave (its own) and restarts.
        restartMoving(quarantined.get(0), original);
        assertTrue(bench.inSpool(id), "restored: queued again");
        ScriptedTransport third = new ScriptedTransport();
        third.script = r -> RecipientResult.delivered(r, "ok");
        bench.clock.set(T0 + 10 * MINUTE);
        QueueManager q3 = bench.start(QueueBench.defaults(), ROUTES, route -> third);
        bench.drive(() -> !bench.inSpool(id), "the restored message is done");
        assertEquals(1, third.jobs.size(), third.jobs.toString());
        assertEquals(List.of("later@example.net"), third.jobs.get(0).recipients(), "done@ had it before the quarantine");
        assertEquals(1, q3.delivered());
    }

    private QueueId deliverOne(String rcpt) throws Exception {
        QueueId id = bench.enqueue("s@example.org", rcpt);
        bench.drive(() -> !bench.inSpool(id), "delivered " + rcpt);
        bench.settle();
        return id;
    }

    /**
     * A quarantined file whose records cannot be read is bounded by its modification time, not
     * "every id": mail accepted and delivered after it was written leaves recipients.log at the
     * next start instead of accumulating there for as long as the file stays.
     */
    @Test
    void messagesAcceptedAfterAnUnreadableQuarantineAreNotKeptForever() throws Exception {
        bench = new QueueBench(dir.resolve("spool"));
        // An unreadable quarantined file (its header is garbage), older than any mail below.
        Path garbage = bench.spoolDir.resolve("segments/00-000000000077.seg.corrupt");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        Files.setLastModifiedTime(garbage, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000L));
        ScriptedTransport ok = new ScriptedTransport();
        ok.script = r -> RecipientResult.delivered(r, "ok");
        bench.start(QueueBench.defaults(), ROUTES, route -> ok);
        restart(); // the spool now opens with the .corrupt file present
        bench.start(QueueBench.defaults(), ROUTES, route -> ok);
        QueueId first = deliverOne("a@example.net");

        restart();
        bench.start(QueueBench.defaults(), ROUTES, route -> ok);
        QueueId second = deliverOne("b@example.net");

        restart();
        bench.start(QueueBench.defaults(), ROUTES, route -> ok);
        assertTrue(Files.exists(garbage), "still quarantined");
        Set<Long> kept = RecipientJournal.read(bench.spoolDir).keySet();
        assertFalse(kept.contains(first.value()) || kept.contains(second.value()),
                "records of mail accepted after the file was quarantined are kept at every start: " + kept.size()
                        + " records, growing by each run's finished mail");
        assertEquals(0, kept.size());
    }
}
