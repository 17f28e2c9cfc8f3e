package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * Review s8c: a quarantined file whose newest id cannot be read (bad header: bound -1, "every id")
 * makes every start keep the journal records of every message not queued, including messages
 * accepted and delivered after the file was quarantined, which it cannot hold. Each restart adds
 * the previous run's finished messages to the kept set: recipients.log and the queue's memory grow
 * for as long as the .corrupt file stays.
 */
class QuarantineBoundGrowthReviewTest {
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

    private void restart() throws IOException {
        bench.queue.close();
        bench.queue = null;
        bench.spool.close();
        bench.spool = Spool.open(bench.spoolDir, SpoolOptions.defaults());
        bench.client = bench.spool.appender(0);
    }

    private QueueId deliverOne(String rcpt) throws Exception {
        QueueId id = bench.enqueue("s@example.org", rcpt);
        bench.drive(() -> !bench.inSpool(id), "delivered " + rcpt);
        bench.settle();
        return id;
    }

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
