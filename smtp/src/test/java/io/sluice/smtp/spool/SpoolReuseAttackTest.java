package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static io.sluice.smtp.spool.SpoolTestSupport.read;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A recycled file keeps its previous life's bytes behind the new records. Where the new life
 * ends inside an old message's body, a scan reads message content (which an SMTP client chooses,
 * byte for byte with BDAT BINARYMIME) as record headers: those must never pass. They carry no
 * valid salt (the header's nonce is new and secret) and no id of another loop. Also: a reader in
 * another process never returns bytes from a reused file. (Found by review of the first
 * recycling commit, where the salt was the guessable segment number.)
 */
class SpoolReuseAttackTest {
    private static final int SEGMENT_BYTES = 4096;
    private static final SpoolOptions OPTIONS = SpoolOptions.defaults()
            .withSegmentMaxBytes(SEGMENT_BYTES).withMaxRecordPayloadBytes(SEGMENT_BYTES);
    private static final Envelope ENVELOPE = envelope("rcpt@example.com");
    private static final int ENVELOPE_BYTES = EnvelopeCodec.encode(ENVELOPE).length;
    private static final int SMALL = 100;
    private static final long GUESSED_NONCE = 0;
    /**
     * Where the records of a message with a SMALL body, begun first in a segment, end: BEGIN
     * (20 + envelope), DATA (20 + SMALL), COMMIT (20 + 8) after the 16-byte segment header.
     */
    private static final int SMALL_MESSAGE_END = SpoolRecord.SEGMENT_HEADER_BYTES + 3 * SpoolRecord.HEADER_BYTES
            + ENVELOPE_BYTES + SMALL + SpoolRecord.COMMIT_PAYLOAD_BYTES;
    /** File offset of the body of a message begun first in a segment. */
    private static final int FIRST_BODY_OFFSET = SpoolRecord.SEGMENT_HEADER_BYTES + 2 * SpoolRecord.HEADER_BYTES
            + ENVELOPE_BYTES;

    @TempDir
    Path tmp;

    /**
     * An earlier message's body holds a record chain salted for segment 2. Its file is recycled as
     * segment 2, whose last record ends where that chain starts: after a restart a message that no
     * client ever committed (with an envelope of the sender's choosing) is queued.
     */
    @Test
    void contentOfARecycledFilesOldMessageIsNeverRecoveredAsAMessage() throws Exception {
        QueueId forgedId = QueueId.of((1_800_000_000_000L << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS)));
        Envelope forgedEnvelope = envelope("anyone@elsewhere.example");
        byte[] forgedBody = "Subject: not from any SMTP transaction\r\n\r\nhi\r\n".getBytes(
                java.nio.charset.StandardCharsets.US_ASCII);
        byte[] chain = concat(
                record(SpoolRecord.BEGIN, forgedId, EnvelopeCodec.encode(forgedEnvelope), 2),
                record(SpoolRecord.DATA, forgedId, forgedBody, 2),
                record(SpoolRecord.COMMIT, forgedId, ByteBuffer.allocate(8).putLong(0, forgedBody.length).array(), 2));
        List<QueueId> survivors;
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            survivors = recycleOverChain(spool, 0, chain);
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertEquals(survivors, ids(spool), "only messages that got 250 are queued after a restart");
        }
    }

    /**
     * Same, with a 20-byte ABORT naming a message that got 250 on another loop (ids are given out
     * in the 250 reply and grow with the clock): recovery drops that message.
     */
    @Test
    void contentOfARecycledFilesOldMessageNeverCancelsAnAcknowledgedMessage() throws Exception {
        QueueId victim;
        List<QueueId> survivors = new ArrayList<>();
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            victim = commit(spool.appender(0), content(9, SMALL)); // loop 0 is scanned before loop 1
            survivors.add(victim);
            survivors.addAll(recycleOverChain(spool, 1,
                    record(SpoolRecord.ABORT, victim, new byte[0], 2)));
        }
        try (Spool spool = Spool.open(tmp, OPTIONS)) {
            assertTrue(ids(spool).contains(victim), "a message that got 250 survives a restart: " + ids(spool));
            assertEquals(survivors.stream().sorted().collect(Collectors.toList()),
                    ids(spool).stream().sorted().collect(Collectors.toList()));
        }
    }

    /**
     * {@code sluice queue cat} opens the spool read-only next to the server and keeps each
     * segment's descriptor from its scan. Before recycling, a segment emptied meanwhile was
     * unlinked and the descriptor still read the old bytes; now the server renames the same inode
     * to its next segment and overwrites it, so the CLI prints another message's content.
     */
    @Test
    void aReadOnlySpoolNeverReturnsAnotherMessagesContent() throws Exception {
        try (Spool server = Spool.open(tmp, OPTIONS)) {
            SpoolAppender appender = server.appender(0);
            QueueId a = commit(appender, content(1, SMALL));
            QueueId fill0 = commit(appender, content(3, fillTo(Files.size(segment(0, 0)))));
            commit(appender, content(4, SMALL)); // rolls to segment 1
            commit(appender, content(5, fillTo(Files.size(segment(0, 1)))));
            try (Spool cli = Spool.openReadOnly(tmp)) {
                assertArrayEquals(content(1, SMALL), read(cli, a));
                assertTrue(server.delete(a));
                assertTrue(server.delete(fill0)); // segment 0 empties: renamed .free
                SpoolTestSupport.awaitReadyForReuse(server, 0); // the preparer readied the kept file off this thread
                commit(appender, content(6, SMALL)); // segment 2 is segment 0's file
                assertEquals(1, server.segmentsRecycled());
                byte[] seen;
                try {
                    seen = read(cli, a);
                } catch (IOException e) {
                    seen = null; // an error is fine ("message deleted"); other bytes are not
                }
                if (seen != null) {
                    assertArrayEquals(content(1, SMALL), seen, "queue cat printed bytes of another message");
                }
            }
        }
    }


    /**
     * Sound (checked): a torn write into a recycled file is cut by truncate and the segment goes
     * on; if the truncate fails too the segment is failed and the next one is new. Either way a
     * restart finds exactly the acknowledged messages.
     */
    @Test
    void aTornWriteIntoARecycledFileLosesNoAcknowledgedMessage() throws Exception {
        for (boolean failTruncate : new boolean[] {false, true}) {
            Path dir = tmp.resolve("torn-" + failTruncate);
            SegmentChannelFactory factory = new SegmentChannelFactory() {
                @Override
                public FileChannel create(Path path) throws IOException {
                    return SegmentChannelFactory.DEFAULT.create(path);
                }

                @Override
                public FileChannel reuse(Path path) throws IOException {
                    // BEGIN, DATA, COMMIT of the first message, then the next BEGIN tears
                    return new FailingFileChannel(SegmentChannelFactory.DEFAULT.reuse(path), 3, failTruncate);
                }
            };
            List<QueueId> acked = new ArrayList<>();
            try (Spool spool = Spool.open(dir, OPTIONS, factory)) {
                SpoolAppender appender = spool.appender(0);
                QueueId a = commit(appender, content(1, SMALL));
                QueueId fill0 = commit(appender, content(3, fillTo(Files.size(segmentIn(dir, 0)))));
                acked.add(commit(appender, content(4, SMALL)));
                acked.add(commit(appender, content(5, fillTo(Files.size(segmentIn(dir, 1))))));
                assertTrue(spool.delete(a));
                assertTrue(spool.delete(fill0));
                SpoolTestSupport.awaitReadyForReuse(spool, 0); // the preparer readied the kept file off this thread
                acked.add(commit(appender, content(6, SMALL))); // segment 2: segment 0's file
                assertEquals(1, spool.segmentsRecycled());
                try {
                    appender.begin(ENVELOPE);
                    throw new AssertionError("the torn BEGIN must fail");
                } catch (IOException expected) {
                    // 452 for that message
                }
                acked.add(commit(appender, content(8, SMALL)));
            }
            try (Spool spool = Spool.open(dir, OPTIONS)) {
                assertEquals(acked, ids(spool), "failTruncate=" + failTruncate);
                assertArrayEquals(content(6, SMALL), read(spool, acked.get(2)));
                assertArrayEquals(content(8, SMALL), read(spool, acked.get(3)));
            }
        }
    }

    private static Path segmentIn(Path dir, long seq) {
        return dir.resolve("segments").resolve(Segment.fileName(0, seq));
    }

    /**
     * Loop {@code loop}'s segment 0 gets a message whose body holds {@code chain} at the offset
     * where a SMALL message, written first into segment 2, will end; segment 0 is emptied and
     * recycled as segment 2 and that message written. Returns the acknowledged messages left.
     */
    private List<QueueId> recycleOverChain(Spool spool, int loop, byte[] chain) throws Exception {
        SpoolAppender appender = spool.appender(loop);
        int at = SMALL_MESSAGE_END - FIRST_BODY_OFFSET;
        byte[] body = concat(content(2, at), chain, content(7, 200));
        QueueId carrier = commit(appender, body);
        QueueId fill0 = commit(appender, content(3, fillTo(Files.size(segment(loop, 0)))));
        List<QueueId> survivors = new ArrayList<>();
        survivors.add(commit(appender, content(4, SMALL))); // rolls to segment 1
        survivors.add(commit(appender, content(5, fillTo(Files.size(segment(loop, 1))))));
        assertTrue(spool.delete(carrier)); // delivered, say
        assertTrue(spool.delete(fill0));
        assertTrue(Files.exists(tmp.resolve("segments").resolve(Segment.freeName(loop, 0))));
        SpoolTestSupport.awaitReadyForReuse(spool, loop); // the preparer readied the kept file off this thread
        survivors.add(commit(appender, content(6, SMALL))); // rolls to segment 2: segment 0's file
        assertTrue(Files.size(segment(loop, 2)) > SMALL_MESSAGE_END, "old bytes follow the new records");
        return survivors;
    }

    /**
     * One record as an appender of segment {@code seq} would write it if the segment's nonce were
     * {@link #GUESSED_NONCE}: the attacker knows everything but the nonce.
     */
    private static byte[] record(byte type, QueueId id, byte[] payload, long seq) {
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES);
        SpoolRecord.encodeHeader(header, new CRC32C(), type, id, ByteBuffer.wrap(payload), payload.length,
                SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION, GUESSED_NONCE, seq));
        byte[] out = new byte[SpoolRecord.HEADER_BYTES + payload.length];
        header.get(out, 0, SpoolRecord.HEADER_BYTES);
        System.arraycopy(payload, 0, out, SpoolRecord.HEADER_BYTES, payload.length);
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static int fillTo(long offset) {
        return SpoolTestSupport.fillTo(SEGMENT_BYTES, ENVELOPE, offset);
    }

    private static QueueId commit(SpoolAppender appender, byte[] body) throws Exception {
        return SpoolTestSupport.commitOne(appender, ENVELOPE, body);
    }

    private Path segment(int loop, long seq) {
        return tmp.resolve("segments").resolve(Segment.fileName(loop, seq));
    }

    private static List<QueueId> ids(Spool spool) {
        return spool.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
    }
}
