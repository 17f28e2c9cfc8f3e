package io.sluice.smtp.spool;

import static io.sluice.smtp.spool.SpoolTestSupport.content;
import static io.sluice.smtp.spool.SpoolTestSupport.envelope;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Positional reads of stored content ({@link MessageSource#readContent}): the spool's reads over
 * many ranges in rolled segments, and the default that goes through {@code copyContent}, both
 * byte-exact against what was stored, at every kind of position and buffer size.
 */
class SpoolReadContentTest {
    @TempDir
    Path dir;

    /** Reads the whole content in random pieces into random-sized heap and direct buffers. */
    private static byte[] readAll(MessageSource source, QueueId id, SplittableRandom random) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long position = 0;
        while (true) {
            int size = random.nextInt(1, 9000);
            ByteBuffer dst = random.nextBoolean() ? ByteBuffer.allocate(size + 4) : ByteBuffer.allocateDirect(size + 4);
            dst.position(3).limit(3 + size); // reads honour the buffer's position and limit
            int n = source.readContent(id, position, dst);
            if (n < 0) {
                return out.toByteArray();
            }
            assertEquals(3 + n, dst.position(), "the position advanced by what was read");
            byte[] piece = new byte[n];
            dst.flip().position(3);
            dst.get(piece);
            out.write(piece, 0, n);
            position += n;
        }
    }

    private static void assertReadsMatch(MessageSource source, QueueId id, byte[] expected) throws IOException {
        SplittableRandom random = new SplittableRandom(expected.length);
        assertArrayEquals(expected, readAll(source, id, random), "sequential pieces");
        for (int i = 0; i < 200; i++) {
            int position = random.nextInt(0, expected.length + 1);
            int size = random.nextInt(1, 6000);
            ByteBuffer dst = ByteBuffer.allocate(size);
            int n = source.readContent(id, position, dst);
            if (position == expected.length) {
                assertEquals(-1, n, "at the end");
                continue;
            }
            int want = Math.min(size, expected.length - position);
            assertEquals(want, n, "a read fills the buffer as far as the content lasts, position " + position);
            assertArrayEquals(Arrays.copyOfRange(expected, position, position + want), Arrays.copyOf(dst.array(), n),
                    "position " + position + " size " + size);
        }
        assertEquals(0, source.readContent(id, 0, ByteBuffer.allocate(0)), "no room: nothing read");
    }

    @Test
    void spoolReadsAreByteExactAcrossInterleavedRangesAndRolledSegments() throws Exception {
        SpoolOptions tiny = SpoolOptions.defaults().withSegmentMaxBytes(4096).withMaxRecordPayloadBytes(1000);
        byte[] a = content(21, 30_000);
        byte[] b = content(22, 17_000);
        try (Spool spool = Spool.open(dir, tiny)) {
            SpoolAppender appender = spool.appender(1);
            QueueId idA = appender.begin(envelope("a@example.com"));
            QueueId idB = appender.begin(envelope("b@example.com"));
            for (int off = 0; off < a.length; off += 1700) { // two sessions interleaved: many ranges
                SpoolTestSupport.appendAll(appender, idA, a, off, Math.min(a.length, off + 1700), 900);
                if (off < b.length) {
                    SpoolTestSupport.appendAll(appender, idB, b, off, Math.min(b.length, off + 1700), 1700);
                }
            }
            SpoolTestSupport.RecordingListener listener = new SpoolTestSupport.RecordingListener(2);
            appender.commit(idA, a.length, listener, Runnable::run);
            appender.commit(idB, b.length, listener, Runnable::run);
            listener.await();
            assertReadsMatch(spool, idA, a);
            assertReadsMatch(spool, idB, b);
            assertTrue(spool.remove(idA));
            IOException gone = assertThrows(IOException.class, () -> spool.readContent(idA, 0, ByteBuffer.allocate(10)));
            assertTrue(gone.getMessage().contains("no queued message"), gone.getMessage());
        }
    }

    @Test
    void theDefaultReadGoesThroughCopyContentByteExact() throws IOException {
        byte[] stored = content(23, 20_000);
        QueueId id = QueueId.of(1);
        MessageSource source = new MessageSource() {
            @Override
            public List<QueuedMessage> list() {
                return List.of();
            }

            @Override
            public void copyContent(QueueId which, WritableByteChannel out) throws IOException {
                for (int at = 0; at < stored.length; at += 8192) { // in pieces, like transferTo
                    out.write(ByteBuffer.wrap(stored, at, Math.min(8192, stored.length - at)));
                }
            }

            @Override
            public boolean remove(QueueId which) {
                return false;
            }

            @Override
            public void onDurable(Consumer<QueuedMessage> consumer) {
            }
        };
        assertReadsMatch(source, id, stored);
    }
}
