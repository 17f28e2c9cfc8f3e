package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrackedTombstonesTest {
    private static Segment segment(int loop, long seq) {
        return new Segment(loop, seq, Path.of(Segment.fileName(loop, seq)), null);
    }

    private static List<Long> ids(TrackedTombstones t) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            out.add(t.id(i));
        }
        return out;
    }

    @Test
    void aTombstoneStaysWhileAnySegmentInItsRangeIsOnDisk() {
        TrackedTombstones t = new TrackedTombstones();
        t.add(1, new Segment[] {segment(0, 5)});
        t.add(2, new Segment[] {segment(0, 5), segment(0, 9)}); // spans 5..9 (may have skipped 6..8)
        t.add(3, new Segment[] {segment(1, 7)}); // another loop's segment 7
        t.add(4, new Segment[] {segment(0, 10)});
        long[] onDisk = {Segment.key(0, 7), Segment.key(1, 3), Segment.key(2, 7)};
        t.retainOnDisk(onDisk);
        assertEquals(List.of(2L), ids(t), "only the range 0:5..0:9 holds a file on disk (0:7)");
        t.retainOnDisk(new long[] {Segment.key(0, 9)});
        assertEquals(List.of(2L), ids(t), "an end of the range counts");
        t.retainOnDisk(new long[0]);
        assertEquals(List.of(), ids(t));
    }

    @Test
    void aPinnedTombstoneStaysWhateverIsOnDisk() {
        TrackedTombstones t = new TrackedTombstones();
        t.add(1, new Segment[] {segment(0, 5)});
        t.pin(2); // its message may be in a quarantined file, which no listing of .seg files shows
        t.add(3, new Segment[] {segment(0, 6)});
        t.retainOnDisk(new long[] {Segment.key(0, 6)});
        assertEquals(List.of(2L, 3L), ids(t));
        t.retainOnDisk(new long[0]);
        assertEquals(List.of(2L), ids(t), "kept until the next start decides again");
    }

    @Test
    void keepsOrderThroughABurstAndGrowsAgainAfterIt() {
        TrackedTombstones t = new TrackedTombstones();
        for (long id = 0; id < 10_000; id++) {
            t.add(id, new Segment[] {segment(0, id / 4)});
        }
        t.retainOnDisk(new long[] {Segment.key(0, 10), Segment.key(0, 2000)});
        assertEquals(List.of(40L, 41L, 42L, 43L, 8000L, 8001L, 8002L, 8003L), ids(t));
        t.add(10_001, new Segment[] {segment(0, 2001)});
        assertEquals(9, t.size());
        assertEquals(10_001L, t.id(8));
    }
}
