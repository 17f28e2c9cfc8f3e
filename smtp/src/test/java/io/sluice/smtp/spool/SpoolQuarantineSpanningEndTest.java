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
 * Review s7c (S2): the spool-fix keeps the START of a message whose end is in a quarantined file, but
 * not the mirror case: when the quarantined file holds a message's BEGIN and the next segment its
 * last DATA and COMMIT, that next segment (referenced by nothing whole) is deleted at start, so
 * restoring the quarantined file as its WARN says brings back an acknowledged message without its
 * end: lost.
 */
class SpoolQuarantineSpanningEndTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");

    @TempDir
    Path tmp;

    @Test
    void theEndOfAMessageWhoseStartIsQuarantinedIsKept() throws Exception {
        QueueId spanning;
        byte[] big = content(1, 3000);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            QueueId id = appender.begin(ENVELOPE);
            byte[] both = java.util.Arrays.copyOf(big, 2 * big.length);
            System.arraycopy(big, 0, both, big.length, big.length);
            SpoolTestSupport.appendAll(appender, id, both, 0, both.length, big.length);
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(1);
            appender.commit(id, both.length, listener, Runnable::run);
            listener.await(); // acknowledged
            spanning = id;
        }
        assertTrue(Files.exists(segment(1)), "the message spans segments 0 and 1");
        Files.move(segment(0), segment(5)); // renamed by hand: quarantined at the next start

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool));
        }
        Path quarantined = tmp.resolve("segments").resolve(Segment.fileName(0, 5) + ".corrupt");
        assertTrue(Files.exists(quarantined));
        Files.move(quarantined, segment(0)); // what the WARN tells the operator to do
        Path neighbour = tmp.resolve("segments").resolve(Segment.fileName(0, 1) + ".corrupt");
        if (Files.exists(neighbour)) {
            Files.move(neighbour, segment(1));
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(spanning), ids(spool), "acknowledged message " + spanning + " lost; files: " + listing());
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
