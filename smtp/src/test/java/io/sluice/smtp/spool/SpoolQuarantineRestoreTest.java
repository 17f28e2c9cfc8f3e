package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Putting a quarantined ({@code .corrupt}) file back under the name its WARN gives, with the
 * server stopped, brings back exactly its acknowledged, undelivered messages: a message spanning
 * it and a neighbour comes back whole (the neighbour is quarantined with it, not deleted), its
 * delivered messages stay delivered (their tombstones are kept while a quarantined file exists),
 * and the name it is to be restored under is never given to new mail.
 */
class SpoolQuarantineRestoreTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");

    @TempDir
    Path tmp;

    @Test
    void restoringAQuarantinedSegmentBringsBackAMessageThatStartedInTheSegmentBefore() throws Exception {
        QueueId spanning;
        QueueId inside;
        byte[] big = content(1, 3000);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            // BEGIN and two DATA records in segment 0 (past 4096 octets), its COMMIT rolls to segment 1.
            QueueId id = appender.begin(ENVELOPE);
            SpoolTestSupport.appendAll(appender, id, concat(big, big), 0, 2 * big.length, big.length);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, 2L * big.length, listener, Runnable::run);
            listener.await();
            spanning = id;
            inside = SpoolTestSupport.commitOne(appender, ENVELOPE, content(2, 100));
        }
        assertTrue(Files.exists(segment(1)), "the message spans segments 0 and 1");
        Files.move(segment(1), segment(5)); // restored or renamed by hand under another number

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool), "segment 5 is quarantined");
        }
        Path quarantined = tmp.resolve("segments").resolve(Segment.fileName(0, 5) + ".corrupt");
        Path neighbour = tmp.resolve("segments").resolve(Segment.fileName(0, 0) + ".corrupt");
        assertTrue(Files.exists(quarantined));
        assertTrue(Files.exists(neighbour), "segment 0 holds only the start of a message whose COMMIT is in"
                + " segment 5: quarantined with it, not deleted");
        Files.move(quarantined, segment(1)); // what the WARNs tell the operator to do
        Files.move(neighbour, segment(0));

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(spanning, inside), ids(spool),
                    "segment 0 (the spanning message's BEGIN and DATA) must survive the quarantine of segment 1;"
                            + " segment 0 exists: " + Files.exists(segment(0)));
            assertArrayEquals(concat(big, big), read(spool, spanning));
        }
    }

    /**
     * deleted.log is rewritten at start to the tombstones it still needs: while a quarantined
     * file exists, that includes those of messages found in no scanned file, which may be in it.
     */
    @Test
    void restoringAQuarantinedSegmentDoesNotResurrectItsDeliveredMessages() throws Exception {
        QueueId delivered;
        QueueId live;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            delivered = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(1, 100));
            live = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(2, 100));
            assertTrue(spool.delete(delivered));
        }
        Files.move(segment(0), segment(5)); // renamed by hand
        for (int start = 0; start < 3; start++) { // a few restarts, as the operator investigates
            try (Spool spool = Spool.open(tmp, OPTIONS)) {
                assertEquals(List.of(), ids(spool));
            }
        }
        Files.move(tmp.resolve("segments").resolve(Segment.fileName(0, 5) + ".corrupt"), segment(0));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(live), ids(spool), "the delivered message " + delivered + " came back");
        }
    }

    /** The rewrites of deleted.log while the server runs keep those tombstones too. */
    @Test
    void restoringAfterRuntimeRewritesOfDeletedLogDoesNotResurrectDeliveredMessages() throws Exception {
        QueueId delivered;
        QueueId live;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            delivered = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(1, 100));
            live = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(2, 100));
            assertTrue(spool.delete(delivered));
        }
        Files.move(segment(0), segment(5)); // renamed by hand
        try (Spool spool = Spool.open(tmp, OPTIONS, SegmentChannelFactory.DEFAULT, 200)) {
            long before = spool.journalCompactions();
            for (int i = 0; i < 40 && spool.journalCompactions() < before + 2; i++) { // other mail, delivered
                assertTrue(spool.delete(SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(10 + i, 50))));
            }
            assertTrue(spool.journalCompactions() >= before + 2, "deleted.log was rewritten while running");
        }
        Files.move(tmp.resolve("segments").resolve(Segment.fileName(0, 5) + ".corrupt"), segment(0));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(live), ids(spool), "the delivered message " + delivered + " came back");
        }
    }

    /**
     * The quarantine WARN names the file by its header ("its header names it 00-...1.seg") and the
     * operator is to put it back under that name: a restoring {@code mv} must never overwrite new
     * mail, at this start or a later one.
     */
    @Test
    void theNumberAQuarantinedHeaderNamesIsNeverMintedForNewMail() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE,
                    content(1, SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, SpoolRecord.SEGMENT_HEADER_BYTES)));
            SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(2, 100)); // rolls to segment 1
        }
        assertTrue(Files.exists(segment(1)));
        Files.delete(segment(0));
        Files.move(segment(1), segment(0)); // segment 1 restored under number 0 by hand

        QueueId fresh;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool), "segment 0 (header: 1) is quarantined");
            fresh = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(3, 100));
        }
        assertTrue(Files.exists(tmp.resolve("segments").resolve(Segment.fileName(0, 0) + ".corrupt")));
        assertEquals(false, Files.exists(segment(1)),
                "new mail (" + fresh + ") went into 00-000000000001.seg, the name the quarantine WARN tells the"
                        + " operator to restore the quarantined file under");

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(spool.delete(fresh)); // delivered
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool)); // its segment is deleted: no .seg file is left
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(4, 100));
        }
        assertEquals(false, Files.exists(segment(0)) || Files.exists(segment(1)),
                "a later start counts the quarantined file's names (00-0 and its header's 00-1) as taken");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
