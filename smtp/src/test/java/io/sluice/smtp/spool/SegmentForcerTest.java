package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
            forcer.close();
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
            forcer.close();
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
        forcer.close();
    }
}
