package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.commitOne;
import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A spool written by a newer release (an envelope version this build does not know, here a
 * hand-made 99) after a downgrade: recovery must keep the mail, quarantining the segment as
 * {@code .corrupt} (never over an earlier quarantine) with one WARN, and never delete it.
 */
class SpoolFutureEnvelopeTest {
    @TempDir
    Path tmp;

    @Test
    void aSegmentWithAnUnknownEnvelopeVersionIsQuarantinedNotDropped() throws Exception {
        QueueId first;
        QueueId future;
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            SpoolAppender appender = spool.appender(0);
            first = commitOne(appender, envelope("a@example.com"), content(1, 200));
            future = commitOne(appender, envelope("b@example.com"), content(2, 300));
        }
        Path segment = onlySegment();
        setEnvelopeVersion(segment, future, 99);
        byte[] written = Files.readAllBytes(segment);
        Path earlier = segment.resolveSibling(segment.getFileName() + ".corrupt");
        Files.write(earlier, new byte[] {1, 2, 3}); // an earlier quarantine, never overwritten

        List<LogRecord> warnings = new CopyOnWriteArrayList<>();
        Logger log = Logger.getLogger(SpoolRecovery.class.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(handler);
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(List.of(), spool.list(), "nothing of the quarantined file is queued");
            QueueId next = commitOne(spool.appender(0), envelope("c@example.com"), content(3, 10));
            assertTrue(Long.compareUnsigned(next.value(), future.value()) > 0, "ids are not reused");
        } finally {
            log.removeHandler(handler);
        }
        assertEquals(1, warnings.size(), () -> warnings.stream().map(LogRecord::getMessage).collect(Collectors.toList())
                .toString());
        Path quarantined = segment.resolveSibling(segment.getFileName() + ".corrupt.1");
        assertArrayEquals(written, Files.readAllBytes(quarantined), "bytes unchanged, both messages in it");
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(earlier));
        assertTrue(Files.notExists(segment));
        assertTrue(first.value() != future.value());

        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            assertEquals(1, spool.list().size(), "the next open leaves the quarantined file alone");
        }
        assertArrayEquals(written, Files.readAllBytes(quarantined));
    }

    @Test
    void aReadOnlySpoolListsNeitherButLeavesTheFile() throws Exception {
        QueueId future;
        try (Spool spool = Spool.open(tmp, SpoolOptions.defaults())) {
            future = commitOne(spool.appender(0), envelope("b@example.com"), content(2, 300));
        }
        Path segment = onlySegment();
        setEnvelopeVersion(segment, future, 3);
        byte[] written = Files.readAllBytes(segment);
        try (Spool spool = Spool.openReadOnly(tmp)) {
            assertEquals(List.of(), spool.list());
        }
        assertArrayEquals(written, Files.readAllBytes(segment));
    }

    /** Rewrites the first byte of {@code id}'s BEGIN payload and its record CRC (under the file's salt). */
    private static void setEnvelopeVersion(Path segment, QueueId id, int version) throws Exception {
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(segment));
        assertEquals(SpoolRecord.SEGMENT_VERSION, file.getInt(8));
        int salt = SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION, file.getLong(16), file.getLong(24));
        int pos = SpoolRecord.SEGMENT_HEADER_BYTES;
        while (pos + SpoolRecord.HEADER_BYTES <= file.limit()) {
            int length = file.getInt(pos + 4);
            if (file.get(pos) == SpoolRecord.BEGIN && file.getLong(pos + 8) == id.value()) {
                file.put(pos + SpoolRecord.HEADER_BYTES, (byte) version);
                ByteBuffer header = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
                ByteBuffer payload = file.duplicate().position(pos + SpoolRecord.HEADER_BYTES);
                SpoolRecord.encodeHeader(header, new CRC32C(), SpoolRecord.BEGIN, id, payload, length, salt);
                file.put(pos, header.array(), 0, SpoolRecord.HEADER_BYTES);
                Files.write(segment, file.array());
                return;
            }
            pos += SpoolRecord.HEADER_BYTES + length;
        }
        throw new AssertionError("no BEGIN of " + id + " in " + segment);
    }

    private Path onlySegment() throws Exception {
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            List<Path> all = s.filter(p -> p.toString().endsWith(".seg")).collect(Collectors.toList());
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }
}
