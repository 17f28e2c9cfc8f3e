package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review s7c (S1): recovery quarantines the start of a message spanning into a quarantined file only
 * when nothing else references that segment (refs == 0). When the segment also holds a committed
 * message, it stays live with refs counting only that message; once it is delivered, the runtime
 * frees the segment and the spanning message's BEGIN and DATA go with it, so restoring the
 * quarantined file (as the WARN says) brings back only a COMMIT: an acknowledged message is lost.
 */
class SpoolQuarantineSpanningStartTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");

    @TempDir
    Path tmp;

    @Test
    void theStartOfASpanningMessageSurvivesWhenItsSegmentAlsoHeldDeliveredMail() throws Exception {
        QueueId other;
        QueueId spanning;
        byte[] big = content(1, 3000);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            other = SpoolTestSupport.commitOne(appender, ENVELOPE, content(2, 100)); // segment 0
            QueueId id = appender.begin(ENVELOPE);
            byte[] both = java.util.Arrays.copyOf(big, 2 * big.length);
            System.arraycopy(big, 0, both, big.length, big.length);
            SpoolTestSupport.appendAll(appender, id, both, 0, both.length, big.length);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, both.length, listener, Runnable::run);
            listener.await(); // acknowledged: 250
            spanning = id;
        }
        assertTrue(Files.exists(segment(1)), "the message spans segments 0 and 1");
        Files.move(segment(1), segment(5)); // renamed by hand: recovery quarantines it

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(other), ids(spool), "segment 5 is quarantined, segment 0 is live (other)");
            assertTrue(spool.delete(other)); // delivered: segment 0 is now empty
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool));
        }
        Path quarantined = tmp.resolve("segments").resolve(Segment.fileName(0, 5) + ".corrupt");
        assertTrue(Files.exists(quarantined));
        Files.move(quarantined, segment(1)); // what the WARN tells the operator to do
        Path neighbour = tmp.resolve("segments").resolve(Segment.fileName(0, 0) + ".corrupt");
        if (Files.exists(neighbour)) {
            Files.move(neighbour, segment(0));
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(spanning), ids(spool), "the acknowledged message " + spanning
                    + " is lost: its BEGIN/DATA segment was freed at runtime; segment 0 exists: "
                    + Files.exists(segment(0)) + ", files: " + listing());
        }
    }

    private String listing() throws Exception {
        try (var files = Files.list(tmp.resolve("segments"))) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.joining(","));
        }
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
