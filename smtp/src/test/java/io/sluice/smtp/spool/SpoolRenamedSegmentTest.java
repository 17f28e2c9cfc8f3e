package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Recovery never cuts a segment it merely cannot read: a file under another name than the one it
 * was written as (renamed, restored from a backup, copied from another spool) or one whose first
 * record is damaged while valid records follow is renamed {@code .corrupt} with its bytes
 * unchanged and a WARN; only a first write that provably never became a record of the file's
 * life (a fresh file's or a reused file's torn first write) is cut.
 */
class SpoolRenamedSegmentTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 100;

    @TempDir
    Path tmp;

    private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    private final Logger recoveryLog = Logger.getLogger(SpoolRecovery.class.getName());
    private final Handler recorder = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listen() {
        recoveryLog.addHandler(recorder);
    }

    @AfterEach
    void stopListening() {
        recoveryLog.removeHandler(recorder);
    }

    @Test
    void aSegmentRenamedByHandIsQuarantinedIntactAndComesBackUnderItsOwnName() throws Exception {
        QueueId a;
        QueueId b;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            a = commit(spool.appender(0), content(1, SMALL));
            b = commit(spool.appender(0), content(2, SMALL));
        }
        byte[] bytes = Files.readAllBytes(segment(0));
        Files.move(segment(0), segment(5));

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool), "not read under a name its header does not give");
        }
        assertFalse(Files.exists(segment(5)));
        Path quarantined = quarantined(5, "");
        assertArrayEquals(bytes, Files.readAllBytes(quarantined), "bytes unchanged");
        assertEquals(1, warnings.size());
        assertTrue(formatted(warnings.get(0)).contains("its header names it 00-000000000000.seg"),
                formatted(warnings.get(0)));

        Files.move(quarantined, segment(0)); // what the WARN tells the operator to do
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(a, b), ids(spool));
            assertArrayEquals(content(2, SMALL), read(spool, b));
        }
    }

    @Test
    void aReadOnlySpoolSkipsARenamedSegmentAndLeavesItWhereItIs() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            commit(spool.appender(0), content(1, SMALL));
        }
        byte[] bytes = Files.readAllBytes(segment(0));
        Files.move(segment(0), segment(5));
        try (Spool spool = Spool.openReadOnly(tmp)) {
            assertEquals(List.of(), ids(spool));
        }
        assertArrayEquals(bytes, Files.readAllBytes(segment(5)), "the CLI never renames or cuts");
        assertEquals(List.of(), quarantinedFiles());
        assertEquals(List.of(), warnings, "INFO only: next to a server, a reused file is named before its header");
    }

    @Test
    void aBackupRestoredUnderAnotherNumberIsQuarantinedAndNeverOverwritesAnEarlierQuarantine() throws Exception {
        QueueId a;
        QueueId b;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            a = commit(spool.appender(0), content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            b = commit(spool.appender(0), content(2, SMALL)); // rolls to segment 1
        }
        byte[] backup = Files.readAllBytes(segment(0));
        for (int restore = 0; restore < 2; restore++) {
            Files.write(segment(7), backup);
            try (Spool spool = Spool.open(tmp, OPTIONS)) {
                assertEquals(List.of(a, b), ids(spool), "the live segments are untouched");
            }
        }
        assertArrayEquals(backup, Files.readAllBytes(quarantined(7, "")));
        assertArrayEquals(backup, Files.readAllBytes(quarantined(7, ".1")), "the first quarantine is kept");
        assertArrayEquals(backup, Files.readAllBytes(segment(0)));
    }

    @Test
    void aRenamedFormatTwoSegmentIsQuarantinedNotCut() throws Exception {
        long nonce = 0x0DDBA11L;
        QueueId id = QueueId.of(1_700_000_000_000L << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS));
        byte[] file = concat(versionTwoHeader(nonce),
                message(id, content(3, SMALL), SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION_NAME_SALTED, nonce, 4)));
        Files.createDirectories(segment(0).getParent());
        Files.write(segment(4), file);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(id), ids(spool), "under its own number it is read");
        }
        Files.move(segment(4), segment(9));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool));
        }
        assertArrayEquals(file, Files.readAllBytes(quarantined(9, "")), "not truncated at its header");
        assertTrue(formatted(warnings.get(0)).contains("format-2"), formatted(warnings.get(0)));
    }

    @Test
    void aDamagedFirstRecordFollowedByValidOnesIsQuarantinedNotCut() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            commit(spool.appender(0), content(1, SMALL));
            commit(spool.appender(0), content(2, SMALL));
        }
        byte[] bytes = Files.readAllBytes(segment(0));
        bytes[SpoolRecord.SEGMENT_HEADER_BYTES + SpoolRecord.HEADER_BYTES + 3] ^= 0x40; // inside the first envelope
        Files.write(segment(0), bytes);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(), ids(spool));
        }
        assertArrayEquals(bytes, Files.readAllBytes(quarantined(0, "")));
        assertTrue(formatted(warnings.get(0)).contains("a valid record follows"), formatted(warnings.get(0)));
    }

    /**
     * A reused file ({@code recycled}) or a new one whose header reached the disk but whose first
     * record did not, or only its first {@code tornBytes}: behind them lie the file's previous
     * life's records (a reused file) or nothing. No record of the file's life can be found, so
     * nothing in it was ever acknowledged: it is cut, no quarantine, no WARN.
     */
    @ParameterizedTest(name = "recycled {0}, torn after {1} bytes")
    @CsvSource({"true,0", "true,1", "true,19", "true,20", "true,60", "false,0", "false,19", "false,21", "false,60"})
    void aTornFirstWriteRecoversCleanly(boolean recycled, int tornBytes) throws Exception {
        QueueId old;
        QueueId survivor;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            old = commit(spool.appender(0), content(1, fillTo(SpoolRecord.SEGMENT_HEADER_BYTES)));
            survivor = commit(spool.appender(0), content(2, SMALL)); // rolls to segment 1
        }
        byte[] previousLife = Files.readAllBytes(segment(0));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(spool.delete(old)); // segment 0 empties
        }
        Files.deleteIfExists(tmp.resolve("deleted.log")); // as if a rewrite had dropped its tombstone

        long nonce = 0x5EED_0000_0000_0002L;
        int salt = SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION, nonce, 2);
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES);
        SpoolRecord.encodeSegmentHeader(header, 0, nonce, 2);
        QueueId next = QueueId.of(old.value() + (1L << QueueId.LOOP_BITS));
        byte[] firstRecord = record(SpoolRecord.BEGIN, next, EnvelopeCodec.encode(envelope("new@example.net")), salt);
        byte[] file = concat(header.array(), java.util.Arrays.copyOf(firstRecord, tornBytes));
        if (recycled) {
            file = concat(file, java.util.Arrays.copyOfRange(previousLife, file.length, previousLife.length));
        }
        Files.write(segment(2), file);

        QueueId after;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(survivor), ids(spool), "nothing of the previous life comes back");
            assertFalse(Files.exists(segment(2)), "cut to its header, it holds nothing: deleted");
            after = commit(spool.appender(0), content(4, SMALL));
        }
        assertEquals(List.of(), quarantinedFiles());
        assertEquals(List.of(), warnings);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(List.of(survivor, after), ids(spool));
        }
    }

    private static byte[] versionTwoHeader(long nonce) {
        return ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES_NAME_SALTED).putLong(SpoolRecord.SEGMENT_MAGIC)
                .putInt(SpoolRecord.SEGMENT_VERSION_NAME_SALTED).putInt(0).putLong(nonce).array();
    }

    /** BEGIN, DATA, COMMIT of one message, each CRC XORed with {@code salt}. */
    private static byte[] message(QueueId id, byte[] body, int salt) {
        return concat(record(SpoolRecord.BEGIN, id, EnvelopeCodec.encode(ENVELOPE), salt),
                record(SpoolRecord.DATA, id, body, salt),
                record(SpoolRecord.COMMIT, id, ByteBuffer.allocate(8).putLong(0, body.length).array(), salt));
    }

    private static byte[] record(byte type, QueueId id, byte[] payload, int salt) {
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
        SpoolRecord.encodeHeader(header, new CRC32C(), type, id, ByteBuffer.wrap(payload), payload.length, salt);
        return concat(header.array(), payload);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer out = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            out.put(p);
        }
        return out.array();
    }

    /**
     * Review s7b finding 4: a damaged second message must not take the acknowledged third one
     * behind it. After a power cut an unsynced round's later pages can reach the disk while earlier
     * ones do not, which looks the same from the records alone; the SYNCED record the loop wrote
     * after the second message's round is the evidence that its bytes had been fsynced, so the
     * damage is skipped, not cut (SpoolMidSegmentDamageTest covers the rest).
     */
    @Test
    void damageInsideASegmentDoesNotCutTheAcknowledgedMessagesBehindIt() throws Exception {
        QueueId first;
        QueueId second;
        QueueId third;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            first = commit(spool.appender(0), content(1, SMALL));
            second = commit(spool.appender(0), content(2, SMALL));
            third = commit(spool.appender(0), content(3, SMALL));
        }
        long secondEnvelope = SpoolTestSupport.record(segment(0), 0, 0, SpoolRecord.BEGIN, second).payloadOffset();
        byte[] bytes = Files.readAllBytes(segment(0));
        bytes[(int) secondEnvelope + 3] ^= 0x40; // a bit flip in the second envelope
        Files.write(segment(0), bytes);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            List<QueueId> ids = ids(spool);
            assertTrue(ids.contains(first));
            assertFalse(ids.contains(second));
            assertTrue(ids.contains(third), "the acknowledged third message (" + third + ") was cut: segment is now "
                    + Files.size(segment(0)) + " of " + bytes.length + " octets");
            assertArrayEquals(content(3, SMALL), read(spool, third));
            assertEquals(bytes.length, Files.size(segment(0)), "the damaged file is kept whole, not cut");
            assertTrue(quarantinedFiles().isEmpty(), "nothing quarantined: " + quarantinedFiles());
        }
    }

    private static String formatted(LogRecord r) {
        return new java.util.logging.SimpleFormatter().formatMessage(r);
    }

    private static int fillTo(long offset) {
        return SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, offset);
    }

    private static QueueId commit(SpoolAppender appender, byte[] body) throws Exception {
        return SpoolTestSupport.commitOne(appender, ENVELOPE, body);
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private Path quarantined(long seq, String suffix) {
        Path p = tmp.resolve("segments").resolve(Segment.fileName(0, seq) + ".corrupt" + suffix);
        assertTrue(Files.exists(p), p + " exists");
        return p;
    }

    private List<Path> quarantinedFiles() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("segments"))) {
            return s.filter(p -> p.toString().contains(".corrupt")).collect(Collectors.toList());
        }
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
