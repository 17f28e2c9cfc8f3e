package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** Shared fixtures of the spool tests. */
final class SpoolTestSupport {
    static final long AWAIT_SECONDS = 10;

    private SpoolTestSupport() {
    }

    /**
     * Waits (bounded) until the spool's preparer has readied a kept file of loop {@code loop} for
     * that loop's next roll: a roll never waits for it, so a test that wants a reuse waits first.
     */
    static void awaitReadyForReuse(Spool spool, int loop) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
        while (!spool.segmentReadyForReuse(loop)) {
            assertTrue(System.nanoTime() - deadline < 0, "loop " + loop + " got a kept file readied in time");
            LockSupport.parkNanos(1_000_000L); // polls the condition, bounded by the deadline
        }
    }

    static Envelope envelope(String rcpt) {
        return new Envelope("sender@example.org", List.of(rcpt, "second@example.net"), "192.0.2.7",
                "client.example.org", "ESMTPS", 1_700_000_000_000L, BodyType.EIGHT_BIT_MIME, true);
    }

    /** Deterministic pseudo-random content, CRLF lines, different per seed. */
    static byte[] content(int seed, int size) {
        byte[] b = new byte[size];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (i % 78 == 76) ? (byte) '\r' : (i % 78 == 77) ? (byte) '\n' : (byte) (' ' + (x & 63));
        }
        return b;
    }

    /** Begins a message and appends {@code content} in chunks, alternating direct and heap buffers. */
    static QueueId write(SpoolAppender appender, Envelope envelope, byte[] content, int chunk) throws IOException {
        QueueId id = appender.begin(envelope);
        appendAll(appender, id, content, 0, content.length, chunk);
        return id;
    }

    static void appendAll(SpoolAppender appender, QueueId id, byte[] content, int from, int to, int chunk)
            throws IOException {
        int n = 0;
        for (int off = from; off < to; off += chunk, n++) {
            int len = Math.min(chunk, to - off);
            ByteBuffer buf = (n % 2 == 0) ? ByteBuffer.allocateDirect(len + 10) : ByteBuffer.allocate(len + 10);
            buf.position(5); // a non-zero position must be honoured
            buf.put(content, off, len).flip().position(5);
            appender.append(id, buf);
            assertTrue(!buf.hasRemaining(), "append consumes the buffer");
        }
    }

    /** Writes and commits one message in one append, and waits until it is committed. */
    static QueueId commitOne(SpoolAppender appender, Envelope envelope, byte[] body) throws Exception {
        QueueId id = write(appender, envelope, body, Math.max(1, body.length));
        RecordingListener listener = new RecordingListener(1);
        appender.commit(id, body.length, listener, Runnable::run);
        listener.await();
        assertEquals(List.of(id), new ArrayList<>(listener.committedOn.keySet()), "failed: " + listener.failed);
        return id;
    }

    /**
     * Content size of a message (one DATA record) begun at {@code offset} of a segment of
     * {@code segmentBytes} whose COMMIT starts just below the limit, so the next record rolls.
     * An {@code offset} past the header is the file's size right after a commit round in it: the
     * next write puts that round's SYNCED record first.
     */
    static int fillTo(long segmentBytes, Envelope envelope, long offset) {
        long commitStart = segmentBytes - 8;
        long begin = offset > SpoolRecord.SEGMENT_HEADER_BYTES ? offset + SpoolRecord.SYNCED_RECORD_BYTES : offset;
        return (int) (commitStart - begin - 2L * SpoolRecord.HEADER_BYTES - EnvelopeCodec.encode(envelope).length);
    }

    static byte[] read(Spool spool, QueueId id) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        spool.copyContent(id, Channels.newChannel(out));
        return out.toByteArray();
    }

    /** Records every outcome and the thread it arrived on. */
    static final class RecordingListener implements CommitListener {
        final Map<QueueId, String> committedOn = new ConcurrentHashMap<>();
        final Map<QueueId, IOException> failed = new ConcurrentHashMap<>();
        private final CountDownLatch latch;
        private final CountDownLatch entered;
        private final CountDownLatch release;

        RecordingListener(int expected) {
            this(expected, null, null);
        }

        private RecordingListener(int expected, CountDownLatch entered, CountDownLatch release) {
            this.latch = new CountDownLatch(expected);
            this.entered = entered;
            this.release = release;
        }

        /**
         * A listener that holds the writer thread in {@link #durable} (counting {@code entered}
         * down first) until {@code release} opens, at most a minute, as a hanging callback or
         * tombstone fsync would; then records answers like any other.
         */
        static RecordingListener holdingWriter(int expected, CountDownLatch entered, CountDownLatch release) {
            return new RecordingListener(expected, entered, release);
        }

        @Override
        public void durable(QueueId id) {
            if (entered == null) {
                return;
            }
            entered.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void committed(QueueId id) {
            committedOn.put(id, Thread.currentThread().getName());
            latch.countDown();
        }

        @Override
        public void failed(QueueId id, IOException cause) {
            failed.put(id, cause);
            latch.countDown();
        }

        void await() throws InterruptedException {
            assertTrue(latch.await(AWAIT_SECONDS, TimeUnit.SECONDS), "listeners answered in time: "
                    + latch.getCount() + " missing");
        }
    }

    /** One valid record of a segment file as a scan visits it: where its header starts; a SYNCED record's claim. */
    record ScannedRecord(byte type, QueueId id, long offset, int length, long syncedClaim) {
        long payloadOffset() {
            return offset + SpoolRecord.HEADER_BYTES;
        }

        long end() {
            return offset + SpoolRecord.HEADER_BYTES + length;
        }
    }

    /** The valid records of segment {@code seq} of loop {@code loop} in {@code file}, in file order. */
    static List<ScannedRecord> records(Path file, int loop, long seq) throws IOException {
        List<ScannedRecord> out = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            new SegmentScanner().scan(ch, loop, seq, (type, id, payloadOffset, length, payload) -> out.add(
                    new ScannedRecord(type, id, payloadOffset - SpoolRecord.HEADER_BYTES, length,
                            type == SpoolRecord.SYNCED ? payload.getLong(payload.position()) : -1)));
        }
        return out;
    }

    /** The first valid record of {@code type} of message {@code id} in the file. */
    static ScannedRecord record(Path file, int loop, long seq, byte type, QueueId id) throws IOException {
        for (ScannedRecord r : records(file, loop, seq)) {
            if (r.type() == type && r.id().equals(id)) {
                return r;
            }
        }
        throw new AssertionError("no record of type " + type + " of " + id + " in " + file);
    }
}
