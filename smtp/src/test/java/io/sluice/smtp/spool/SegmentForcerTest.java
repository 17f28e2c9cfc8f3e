package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentForcerTest {
    @TempDir
    Path dir;

    private final List<FileChannel> opened = new ArrayList<>();

    @AfterEach
    void closeChannels() throws IOException {
        for (FileChannel channel : opened) {
            channel.close();
        }
    }

    private Segment segment(int loop) throws IOException {
        Path path = dir.resolve(Segment.fileName(loop, 0));
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        opened.add(channel);
        channel.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        return new Segment(loop, 0, path, channel);
    }

    private List<Segment> segments(int count) throws IOException {
        List<Segment> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(segment(i));
        }
        return list;
    }

    @Test
    void everyRoundForcesEverySegmentWhateverItsSize() throws Exception {
        List<Segment> all = segments(6);
        SegmentForcer forcer = new SegmentForcer(3);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int round = 0; round < 600; round++) {
                List<Segment> some = all.subList(0, 1 + round % all.size());
                assertEquals(some.size(), forcer.forceAll(some), "round " + round);
            }
            assertTrue(forcer.close(TimeUnit.SECONDS.toNanos(10)), "helpers stopped");
        });
        for (Segment s : all) {
            assertNull(s.failure, s.toString());
        }
    }

    @Test
    void aFailedForceMarksOnlyItsSegmentAndIsNotRetried() throws Exception {
        List<Segment> all = segments(4);
        all.get(2).writeChannel.close(); // force on a closed channel throws
        SegmentForcer forcer = new SegmentForcer(2);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertEquals(3, forcer.forceAll(all));
            IOException failure = all.get(2).failure;
            assertInstanceOf(ClosedChannelException.class, failure);
            assertEquals(3, forcer.forceAll(all));
            assertSame(failure, all.get(2).failure, "a failed segment is skipped, not forced again");
            assertTrue(forcer.close(TimeUnit.SECONDS.toNanos(10)), "helpers stopped");
        });
        assertNull(all.get(0).failure);
        assertNull(all.get(1).failure);
        assertNull(all.get(3).failure);
    }

    @Test
    void withoutHelpersTheCallerForcesAll() throws Exception {
        List<Segment> all = segments(3);
        all.get(0).writeChannel.close();
        SegmentForcer forcer = new SegmentForcer(0);
        assertEquals(2, forcer.forceAll(all));
        assertInstanceOf(ClosedChannelException.class, all.get(0).failure);
        assertEquals(0, forcer.forceAll(List.of()));
        assertTrue(forcer.close(TimeUnit.SECONDS.toNanos(10)), "helpers stopped");
    }

    /**
     * Round sizes that fall and rise (8, 2, 8, 2, ...) with more helpers than a small round uses:
     * a helper left out of one round must never work in, or count down for, a later one. Each
     * segment must be forced exactly once per round it is in, and every force must have run when
     * forceAll returns (else a 250 could go out before its fsync). On tmpfs when there is one, so
     * that many rounds stay cheap; each force yields to widen the race windows.
     */
    @Test
    void fallingAndRisingRoundSizesForceEachSegmentExactlyOncePerRound() throws Exception {
        Path shm = Path.of("/dev/shm");
        Path where = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "forcer") : dir;
        int rounds = where == dir ? 2_000 : 20_000;
        int count = 8;
        AtomicIntegerArray forces = new AtomicIntegerArray(count);
        List<Segment> all = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                Path path = where.resolve(Segment.fileName(i, 0));
                FileChannel real = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                opened.add(real);
                FailingFileChannel channel = new FailingFileChannel(real, Integer.MAX_VALUE, false);
                int index = i;
                channel.beforeForce = () -> {
                    Thread.yield();
                    forces.incrementAndGet(index);
                };
                all.add(new Segment(i, 0, path, channel));
            }
            SegmentForcer forcer = new SegmentForcer(7);
            int[] expected = new int[count];
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (int round = 0; round < rounds; round++) {
                    int size = round % 2 == 0 ? count : 2;
                    assertEquals(size, forcer.forceAll(all.subList(0, size)), "round " + round);
                    for (int i = 0; i < count; i++) {
                        expected[i] += i < size ? 1 : 0;
                        assertEquals(expected[i], forces.get(i), "segment " + i + " after round " + round);
                    }
                }
                assertTrue(forcer.close(TimeUnit.SECONDS.toNanos(10)), "helpers stopped");
            });
            for (Segment s : all) {
                assertNull(s.failure, s.toString());
            }
        } finally {
            if (where != dir) {
                for (int i = 0; i < count; i++) {
                    Files.deleteIfExists(where.resolve(Segment.fileName(i, 0)));
                }
                Files.deleteIfExists(where);
            }
        }
    }

    /** A force that throws something other than an IOException marks its segment failed and does not wedge the writer. */
    @Test
    void anUnexpectedExceptionInAHelperMarksTheSegmentFailed() throws Exception {
        List<Segment> all = segments(3);
        FailingFileChannel throwing = new FailingFileChannel(all.get(1).writeChannel, Integer.MAX_VALUE, false);
        throwing.beforeForce = () -> {
            throw new IllegalStateException("injected");
        };
        Segment bad = new Segment(1, 1, all.get(1).path, throwing);
        List<Segment> round = List.of(all.get(0), bad, all.get(2));
        SegmentForcer forcer = new SegmentForcer(2);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertEquals(2, forcer.forceAll(round));
            assertEquals(2, forcer.forceAll(round), "the helper survived and the writer was not wedged");
            assertTrue(forcer.close(TimeUnit.SECONDS.toNanos(10)), "helpers stopped");
        });
        assertInstanceOf(IOException.class, bad.failure);
        assertInstanceOf(IllegalStateException.class, bad.failure.getCause());
        assertNull(all.get(0).failure);
        assertNull(all.get(2).failure);
    }
}
