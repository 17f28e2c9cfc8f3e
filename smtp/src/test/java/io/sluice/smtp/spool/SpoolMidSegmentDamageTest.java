package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static io.sluice.smtp.spool.SpoolTestSupport.record;
import static io.sluice.smtp.spool.SpoolTestSupport.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.smtp.spool.SpoolTestSupport.RecordingListener;
import io.sluice.smtp.spool.SpoolTestSupport.ScannedRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage inside a segment (bit rot, a bad sector, a stray write) in records an fsync had covered
 * no longer cuts the acknowledged messages behind it: the SYNCED records the loop writes after
 * each commit round are the evidence, recovery skips the damaged range, keeps the file and logs
 * one ERROR. Without that evidence (a torn tail, a format-3 file) the file is cut as before.
 */
class SpoolMidSegmentDamageTest {
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults();
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int SMALL = 300;

    @TempDir
    Path tmp;

    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Logger recoveryLog = Logger.getLogger(SpoolRecovery.class.getName());
    private final Handler recorder = new Handler() {
        @Override
        public void publish(LogRecord r) {
            logged.add(r);
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
    void fsyncedDamageInTheSecondMessageLosesOnlyItAndKeepsTheFile() throws Exception {
        QueueId[] ids = new QueueId[4];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
        }
        long envelopeAt = record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[1]).payloadOffset();
        byte[] damaged = flip(segment(0), envelopeAt + 3);

        try (Spool cli = Spool.openReadOnly(tmp)) { // resyncs the same way, writes nothing
            assertEquals(Set.of(ids[0], ids[2], ids[3]), idSet(cli));
            assertEquals(1, cli.stats().damagedRanges());
        }
        assertArrayEquals(damaged, Files.readAllBytes(segment(0)), "a read-only scan changes nothing");
        logged.clear();

        QueueId fifth;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0], ids[2], ids[3]), idSet(spool));
            for (int i : new int[] {0, 2, 3}) {
                assertArrayEquals(content(i, SMALL), read(spool, ids[i]));
            }
            assertEquals(damaged.length, Files.size(segment(0)), "not cut");
            List<LogRecord> errors = at(Level.SEVERE);
            assertEquals(1, errors.size(), "one ERROR: " + errors);
            String text = formatted(errors.get(0));
            assertTrue(text.contains(segment(0).toString()) && text.contains("[" + (envelopeAt - SpoolRecord.HEADER_BYTES)
                    + ", ") && text.contains(" 1 message(s)"), text);
            assertEquals(1, spool.stats().damagedRanges());

            fifth = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(5, SMALL));
            assertEquals(damaged.length, Files.size(segment(0)), "nothing appended behind the hole");
            assertEquals(SpoolRecord.BEGIN, record(segment(1), 0, 1, SpoolRecord.BEGIN, fifth).type(),
                    "the next message goes to a new segment");
        }
        assertArrayEquals(damaged, Files.readAllBytes(segment(0)));

        logged.clear();
        try (Spool spool = Spool.open(tmp, OPTIONS)) { // idempotent: the same set again
            assertEquals(Set.of(ids[0], ids[2], ids[3], fifth), idSet(spool));
            assertEquals(1, spool.stats().damagedRanges());
            assertEquals(1, at(Level.SEVERE).size());
            assertEquals(damaged.length, Files.size(segment(0)));
        }
    }

    /**
     * A kept file with a skipped range keeps the tombstones of messages that may have records in
     * it (deleted or delivered ones not found whole, older than the first BEGIN after the range):
     * when the bytes read whole again (the operator restores the file the ERROR named, or the bad
     * read was transient) a delivered message is not queued a second time.
     */
    @Test
    void aTombstoneOfAMessageInAKeptDamagedRangeSurvivesTheStartsCompaction() throws Exception {
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
            assertTrue(spool.delete(ids[1]), "delivered / deleted by the operator");
        }
        byte[] original = Files.readAllBytes(segment(0));
        long envelopeAt = record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[1]).payloadOffset();
        byte[] damaged = flip(segment(0), envelopeAt + 3);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0], ids[2]), idSet(spool));
            assertEquals(1, spool.stats().damagedRanges());
        }
        assertEquals(damaged.length, Files.size(segment(0)), "kept, not cut");

        Files.write(segment(0), original); // the operator restores the file the ERROR named
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0], ids[2]), idSet(spool), "the deleted message stays deleted");
        }
    }

    /** Those tombstones go with the damaged file: once its last queued message leaves, none is kept. */
    @Test
    void theTombstonesKeptForADamagedRangeGoWithItsFile() throws Exception {
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
            assertTrue(spool.delete(ids[1]));
        }
        flip(segment(0), record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[1]).payloadOffset() + 3);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(DeletionJournal.RECORD_BYTES, Files.size(tmp.resolve("deleted.log")), "ids[1]'s tombstone kept");
            assertTrue(spool.delete(ids[0]) && spool.delete(ids[2]), "the damaged file's last messages delivered");
        }
        assertFalse(Files.exists(segment(0)));
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(spool.list().isEmpty());
            assertEquals(0, Files.size(tmp.resolve("deleted.log")), "no tombstone kept for a file that is gone");
        }
    }

    /**
     * At most one SYNCED record per round, claiming the round's last COMMIT: the writer raises a
     * segment's durable offset once after resolving the round, not per commit request, so a loop
     * writing while the writer resolves a round never sees (and claims) an intermediate value.
     */
    @Test
    void aRoundResolvedWhileItsLoopWritesGetsOneSyncedRecord() throws Exception {
        SpoolOptions options = OPTIONS.withCommitWindowNanos(TimeUnit.MILLISECONDS.toNanos(200));
        try (Spool spool = Spool.open(tmp, options)) {
            SpoolAppender appender = spool.appender(0); // this thread is the loop
            byte[] body = content(1, SMALL);
            QueueId first = SpoolTestSupport.write(appender, ENVELOPE, body, SMALL);
            QueueId second = SpoolTestSupport.write(appender, ENVELOPE, body, SMALL);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            RecordingListener held = RecordingListener.holdingWriter(1, entered, release);
            RecordingListener plain = new RecordingListener(1);
            appender.commit(first, SMALL, held, Runnable::run);
            appender.commit(second, SMALL, plain, Runnable::run);
            assertTrue(entered.await(SpoolTestSupport.AWAIT_SECONDS, TimeUnit.SECONDS), "the round is being resolved");
            QueueId third = appender.begin(ENVELOPE); // a session of this loop goes on meanwhile
            release.countDown();
            plain.await();
            held.await();
            assertEquals(1, spool.stats().batches(), "both commits in one round");
            SpoolTestSupport.appendAll(appender, third, body, 0, SMALL, SMALL);

            long roundEnd = record(segment(0), 0, 0, SpoolRecord.COMMIT, second).end();
            List<Long> claims = records(segment(0), 0, 0).stream()
                    .filter(r -> r.type() == SpoolRecord.SYNCED).map(ScannedRecord::syncedClaim)
                    .collect(Collectors.toList());
            assertEquals(List.of(roundEnd), claims, "one SYNCED record for the one round");
        }
    }

    @Test
    void aTornTailWithoutEvidenceIsCutAsBefore() throws Exception {
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
        }
        // A crash before the last round's SYNCED record was written: drop it (close wrote it).
        List<ScannedRecord> all = records(segment(0), 0, 0);
        ScannedRecord last = all.get(all.size() - 1);
        assertEquals(SpoolRecord.SYNCED, last.type());
        truncate(segment(0), last.offset());
        // The third round's first page did not reach the disk; its later ones did.
        ScannedRecord begin = record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[2]);
        flip(segment(0), begin.payloadOffset() + 3);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0], ids[1]), idSet(spool));
            assertEquals(begin.offset(), Files.size(segment(0)), "cut at the torn record");
            assertEquals(0, spool.stats().damagedRanges());
            assertTrue(at(Level.SEVERE).isEmpty(), "no ERROR: " + at(Level.SEVERE));
            assertTrue(logged.stream().anyMatch(r -> formatted(r).contains("torn write")), "the torn-write INFO");
        }
    }

    @Test
    void aSyncedRecordClaimingMoreThanItsOwnOffsetProvesNothing() throws Exception {
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
        }
        List<ScannedRecord> all = records(segment(0), 0, 0);
        ScannedRecord last = all.get(all.size() - 1);
        assertEquals(SpoolRecord.SYNCED, last.type());
        // The last SYNCED record rewritten, validly salted, to claim the whole file and more.
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(segment(0)));
        int salt = SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION, file.getLong(16), file.getLong(24));
        ByteBuffer forged = ByteBuffer.allocate(SpoolRecord.SYNCED_RECORD_BYTES);
        SpoolRecord.encodeSynced(forged, new java.util.zip.CRC32C(), 0, file.capacity() + 1000, salt);
        try (FileChannel ch = FileChannel.open(segment(0), StandardOpenOption.WRITE)) {
            ch.write(forged, last.offset());
        }
        assertEquals(file.capacity() + 1000L, records(segment(0), 0, 0).get(all.size() - 1).syncedClaim(),
                "the forged record is valid as a record");
        ScannedRecord begin = record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[2]);
        flip(segment(0), begin.payloadOffset() + 3);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0], ids[1]), idSet(spool));
            assertEquals(begin.offset(), Files.size(segment(0)), "cut: no evidence");
            assertEquals(0, spool.stats().damagedRanges());
        }
    }

    @Test
    void aDamagedSyncedRecordIsSkippedWhenALaterOneVouchesForIt() throws Exception {
        QueueId[] ids = new QueueId[4];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
        }
        List<ScannedRecord> synced = records(segment(0), 0, 0).stream()
                .filter(r -> r.type() == SpoolRecord.SYNCED).collect(Collectors.toList());
        assertTrue(synced.size() >= 3, "a SYNCED record per round: " + synced);
        long size = Files.size(segment(0));
        // The damage spans the second SYNCED record and the next record's header.
        ScannedRecord hit = synced.get(1);
        for (long at = hit.payloadOffset(); at < hit.end() + 6; at++) {
            flip(segment(0), at);
        }

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            Set<QueueId> found = idSet(spool);
            assertTrue(found.containsAll(Set.of(ids[0], ids[1], ids[3])), "the messages around it: " + found);
            assertFalse(found.contains(ids[2]), "the message whose BEGIN header was hit");
            assertEquals(size, Files.size(segment(0)));
            assertEquals(1, spool.stats().damagedRanges());
            assertEquals(1, at(Level.SEVERE).size());
        }
    }

    @Test
    void damageInADataRecordDropsItsMessageWhoseCommitIsBehindTheDamage() throws Exception {
        QueueId first;
        QueueId chunked;
        QueueId last;
        byte[] body = content(7, 3000);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            first = SpoolTestSupport.commitOne(appender, ENVELOPE, content(1, SMALL));
            chunked = SpoolTestSupport.write(appender, ENVELOPE, body, 1000); // three DATA records
            RecordingListener listener = new RecordingListener(1);
            appender.commit(chunked, body.length, listener, Runnable::run);
            listener.await();
            last = SpoolTestSupport.commitOne(appender, ENVELOPE, content(3, SMALL));
        }
        List<ScannedRecord> data = records(segment(0), 0, 0).stream()
                .filter(r -> r.type() == SpoolRecord.DATA && r.id().equals(chunked)).collect(Collectors.toList());
        assertEquals(3, data.size());
        long size = Files.size(segment(0));
        flip(segment(0), data.get(1).payloadOffset() + 500);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(first, last), idSet(spool));
            assertArrayEquals(content(3, SMALL), read(spool, last));
            assertEquals(size, Files.size(segment(0)));
            assertEquals(1, spool.stats().damagedRanges());
            List<LogRecord> errors = at(Level.SEVERE);
            assertEquals(1, errors.size());
            assertTrue(formatted(errors.get(0)).contains(" 1 message(s)"), formatted(errors.get(0)));
        }
    }

    @Test
    void damageInAMessageSpanningTwoSegmentsDropsOnlyThatMessage() throws Exception {
        SpoolOptions small = SpoolOptions.defaults().withSegmentMaxBytes(16384).withMaxRecordPayloadBytes(1000);
        QueueId first;
        QueueId spanning;
        QueueId between;
        QueueId after;
        byte[] body = content(9, 4000);
        byte[] rest = content(10, 12000);
        try (Spool spool = Spool.open(tmp, small)) {
            SpoolAppender appender = spool.appender(0);
            first = SpoolTestSupport.commitOne(appender, ENVELOPE, content(1, SMALL));
            spanning = SpoolTestSupport.write(appender, ENVELOPE, body, 1000); // starts in segment 0
            // Another session's message commits while segment 0 is current: its round is the evidence.
            between = SpoolTestSupport.commitOne(appender, ENVELOPE, content(2, SMALL));
            SpoolTestSupport.appendAll(appender, spanning, rest, 0, rest.length, 1000); // rolls into segment 1
            RecordingListener listener = new RecordingListener(1);
            appender.commit(spanning, body.length + rest.length, listener, Runnable::run);
            listener.await();
            after = SpoolTestSupport.commitOne(appender, ENVELOPE, content(3, SMALL));
        }
        assertTrue(Files.exists(segment(1)), "the message spans into segment 1");
        assertEquals(SpoolRecord.COMMIT, record(segment(1), 0, 1, SpoolRecord.COMMIT, spanning).type());
        assertEquals(SpoolRecord.COMMIT, record(segment(0), 0, 0, SpoolRecord.COMMIT, between).type());
        ScannedRecord firstData = record(segment(0), 0, 0, SpoolRecord.DATA, spanning);
        long size = Files.size(segment(0));
        flip(segment(0), firstData.payloadOffset() + 10);

        try (Spool spool = Spool.open(tmp, small)) {
            assertEquals(Set.of(first, between, after), idSet(spool));
            assertArrayEquals(content(2, SMALL), read(spool, between));
            assertEquals(size, Files.size(segment(0)), "segment 0 kept whole");
            assertEquals(1, spool.stats().damagedRanges());
            assertTrue(formatted(at(Level.SEVERE).get(0)).contains(" 1 message(s)"));
        }
    }

    @Test
    void aFormat3FileWithDamageInsideIsCutAsBefore() throws Exception {
        QueueId[] ids = new QueueId[3];
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(i, SMALL));
            }
        }
        // The same records as a format-3 build wrote them: version 3, no SYNCED records (the salt
        // does not depend on the version from 2 on, and a record's CRC not on its offset).
        byte[] v4 = Files.readAllBytes(segment(0));
        ByteArrayOutputStream v3 = new ByteArrayOutputStream();
        v3.write(v4, 0, SpoolRecord.SEGMENT_HEADER_BYTES);
        for (ScannedRecord r : records(segment(0), 0, 0)) {
            if (r.type() != SpoolRecord.SYNCED) {
                v3.write(v4, (int) r.offset(), (int) (r.end() - r.offset()));
            }
        }
        byte[] bytes = v3.toByteArray();
        ByteBuffer.wrap(bytes).putInt(8, SpoolRecord.SEGMENT_VERSION_NUMBERED);
        Files.write(segment(0), bytes);
        ScannedRecord begin = record(segment(0), 0, 0, SpoolRecord.BEGIN, ids[1]);
        flip(segment(0), begin.payloadOffset() + 3);

        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(Set.of(ids[0]), idSet(spool));
            assertEquals(begin.offset(), Files.size(segment(0)), "cut at the damage");
            assertEquals(0, spool.stats().damagedRanges());
        }
    }

    @Test
    void aFileOfANewerFormatIsQuarantinedNeverCut() throws Exception {
        // What a format-3 build does with a format-4 file: the rule for a version it does not know.
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolTestSupport.commitOne(spool.appender(0), ENVELOPE, content(1, SMALL));
        }
        byte[] bytes = Files.readAllBytes(segment(0));
        assertEquals(SpoolRecord.SEGMENT_VERSION, ByteBuffer.wrap(bytes).getInt(8));
        assertEquals(4, SpoolRecord.SEGMENT_VERSION);
        ByteBuffer.wrap(bytes).putInt(8, SpoolRecord.SEGMENT_VERSION + 1);
        Files.write(segment(0), bytes);
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(spool.list().isEmpty());
        }
        Path kept = segment(0).resolveSibling(segment(0).getFileName() + ".corrupt");
        assertArrayEquals(bytes, Files.readAllBytes(kept));
    }

    @Test
    void syncedRecordsClaimOnlyCommittedRoundsAndAtMostOnePerRound() throws Exception {
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = spool.appender(0);
            for (int i = 0; i < 5; i++) {
                SpoolTestSupport.commitOne(appender, ENVELOPE, content(i, SMALL));
            }
            RecordingListener together = new RecordingListener(6);
            for (int i = 0; i < 6; i++) {
                QueueId id = SpoolTestSupport.write(appender, ENVELOPE, content(10 + i, SMALL), SMALL);
                appender.commit(id, SMALL, together, Runnable::run);
            }
            together.await();
            SpoolTestSupport.commitOne(appender, ENVELOPE, content(20, SMALL));
            SpoolTestSupport.write(appender, ENVELOPE, content(21, SMALL), SMALL); // never committed

            long size = Files.size(segment(0));
            List<ScannedRecord> all = records(segment(0), 0, 0);
            java.util.Set<Long> commitEnds = new java.util.HashSet<>();
            long lastCommitEnd = 0;
            long previousClaim = 0;
            int synced = 0;
            for (ScannedRecord r : all) {
                if (r.type() == SpoolRecord.COMMIT) {
                    lastCommitEnd = r.end();
                    commitEnds.add(r.end());
                } else if (r.type() == SpoolRecord.SYNCED) {
                    synced++;
                    long claim = r.syncedClaim();
                    assertTrue(claim > previousClaim, "claims increase: " + claim + " after " + previousClaim);
                    assertTrue(claim <= r.offset() && claim <= size, "claim " + claim + " at " + r.offset());
                    assertTrue(commitEnds.contains(claim), "a claim is the end of a COMMIT written before it: " + claim);
                    previousClaim = claim;
                }
            }
            long rounds = spool.stats().batches();
            assertTrue(synced >= 5 && synced <= rounds, synced + " SYNCED records for " + rounds + " rounds");
            assertTrue(previousClaim <= lastCommitEnd, "nothing beyond the last committed round is claimed");
        }
    }

    private Path segment(long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    private static byte[] flip(Path file, long offset) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) offset] ^= 0x40;
        Files.write(file, bytes);
        return bytes;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static Set<QueueId> idSet(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toSet());
    }

    private List<LogRecord> at(Level level) {
        try (Stream<LogRecord> s = logged.stream()) {
            return s.filter(r -> r.getLevel().equals(level)).collect(Collectors.toList());
        }
    }

    private static String formatted(LogRecord r) {
        return new java.util.logging.SimpleFormatter().formatMessage(r);
    }
}
