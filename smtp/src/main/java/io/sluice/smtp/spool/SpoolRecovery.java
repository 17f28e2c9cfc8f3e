package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Rebuilds the index from the segment files at open: a message is queued iff its BEGIN, DATA and
 * COMMIT records all have valid CRCs, the COMMIT size matches, no later ABORT cancels it and no
 * tombstone deletes it. In read-write mode it also cuts torn tails, deletes segments that hold no
 * live message and quarantines files that are not segments, and segments holding a message
 * whose envelope version this build does not know (written by a newer release: kept, never
 * dropped). Runs on the opening thread.
 */
final class SpoolRecovery implements SegmentScanner.Visitor {
    private static final Logger LOG = Logger.getLogger(SpoolRecovery.class.getName());

    final ConcurrentSkipListMap<QueueId, StoredMessage> index = new ConcurrentSkipListMap<>();
    final List<Segment> liveSegments = new ArrayList<>();
    final long[] maxSeqPerLoop = new long[QueueId.MAX_LOOPS];
    /** Tombstoned messages that still have records in a surviving segment: their tombstones stay. */
    final List<StoredMessage> tombstonedSurvivors = new ArrayList<>();
    long newestIdValue;
    int tornSegments;
    int deletedSegments;
    /** Files renamed {@code .corrupt} by this recovery. */
    int quarantinedSegments;

    private final Set<Long> tombstones;
    private final boolean readOnly;
    private final Map<QueueId, MessageBuilder> pending = new HashMap<>();
    private final List<StoredMessage> deletedButPresent = new ArrayList<>();
    /** Ids of messages whose BEGIN has an envelope version newer than this build reads. */
    private final Set<Long> unreadable = new HashSet<>();
    /** Segments to quarantine after the scan (they hold records of an unreadable message), with why. */
    private final Map<Segment, String> toQuarantine = new LinkedHashMap<>();
    private final SegmentScanner scanner = new SegmentScanner();
    private Segment segment;

    SpoolRecovery(Set<Long> tombstones, boolean readOnly) {
        this.tombstones = tombstones;
        this.readOnly = readOnly;
        Arrays.fill(maxSeqPerLoop, -1);
        for (long id : tombstones) {
            noteId(id);
        }
    }

    void run(Path segmentsDir) throws IOException {
        List<Segment> segments = listSegments(segmentsDir);
        boolean dirChanged = !readOnly && deleteRecycledFiles(segmentsDir);
        for (var it = segments.iterator(); it.hasNext(); ) {
            if (scanSegment(it.next())) {
                it.remove();
                dirChanged = true;
            }
        }
        if (!toQuarantine.isEmpty()) {
            dirChanged |= quarantineUnreadable(segments);
        }
        for (StoredMessage m : index.values()) {
            for (Segment s : m.segments) {
                s.refs.incrementAndGet();
            }
        }
        for (Segment s : segments) {
            if (s.refs.get() > 0 || readOnly) {
                liveSegments.add(s);
            } else {
                s.delete();
                deletedSegments++;
                dirChanged = true;
            }
        }
        keepTombstonesOfSurvivors();
        if (dirChanged && !readOnly) {
            Spool.fsyncDirectory(segmentsDir);
        }
    }

    /** Files a previous run kept for reuse ({@code .free}) hold only old records: they go. */
    private static boolean deleteRecycledFiles(Path segmentsDir) throws IOException {
        boolean any = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(segmentsDir, "*.free")) {
            for (Path p : files) {
                Files.deleteIfExists(p);
                any = true;
            }
        }
        return any;
    }

    private static List<Segment> listSegments(Path segmentsDir) throws IOException {
        List<Segment> segments = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(segmentsDir, "*.seg")) {
            for (Path p : files) {
                long[] name = Segment.parseName(p.getFileName().toString());
                if (name != null) {
                    Segment s = new Segment((int) name[0], name[1], p, null);
                    s.dirSynced = true;
                    segments.add(s);
                }
            }
        }
        segments.sort(Comparator.<Segment>comparingInt(s -> s.loopIndex).thenComparingLong(s -> s.seq));
        return segments;
    }

    /** Scans one file; returns true if it was quarantined (renamed to {@code .corrupt}). */
    private boolean scanSegment(Segment s) throws IOException {
        segment = s;
        maxSeqPerLoop[s.loopIndex] = Math.max(maxSeqPerLoop[s.loopIndex], s.seq);
        FileChannel ch = s.readChannel();
        long size = ch.size();
        long validEnd = scanner.scan(ch, s.loopIndex, s.seq, this);
        if (validEnd == SegmentScanner.NOT_A_SEGMENT) {
            return quarantine(s, "it is not a segment file");
        }
        if (validEnd == SegmentScanner.RENAMED) {
            return quarantine(s, "its header names it " + scanner.headerName() + ": renamed, restored or copied"
                    + " under another name by hand (its messages are in it), or a reused file whose new header a"
                    + " crash lost (then its records are its previous life's, all delivered or deleted)");
        }
        if (validEnd < size) {
            if (!readOnly && scanner.stoppedAtFirstRecord(validEnd)) {
                String reason = scanner.reasonToKeep(size); // no record was visited: nothing to undo
                if (reason != null) {
                    return quarantine(s, reason);
                }
            }
            tornSegments++;
            LOG.log(Level.INFO, "spool: {0} valid up to offset {1} of {2} (a torn write, or a reused file''s old records)",
                    new Object[] {s.path, validEnd, size});
            if (!readOnly) {
                truncate(s.path, validEnd);
            }
        }
        return false;
    }

    /**
     * Renames a file recovery must not read or cut to {@code <name>.corrupt} (or {@code .corrupt.N}
     * if that exists: an earlier quarantine is never overwritten), bytes unchanged, with one WARN
     * saying why; a read-only spool only logs and skips it. Returns whether it was moved.
     */
    private boolean quarantine(Segment s, String reason) throws IOException {
        if (readOnly) {
            // INFO: next to a running server a reused file is named before its header is rewritten.
            LOG.log(Level.INFO, "spool: {0} not read: {1}", new Object[] {s.path, reason});
            return false;
        }
        s.close();
        Path target = s.path.resolveSibling(s.path.getFileName() + ".corrupt");
        for (int n = 1; Files.exists(target, LinkOption.NOFOLLOW_LINKS); n++) {
            target = s.path.resolveSibling(s.path.getFileName() + ".corrupt." + n);
        }
        Files.move(s.path, target);
        quarantinedSegments++;
        LOG.log(Level.WARNING, "spool: {0} quarantined as {1}, bytes unchanged and none of it queued: {2}",
                new Object[] {s.path, target.getFileName(), reason});
        return true;
    }

    /**
     * Quarantines each segment holding a record of a message whose envelope this build cannot read.
     * A queued message with a record in such a segment goes with it (its bytes are in the
     * {@code .corrupt} file; a build that reads the newer version recovers them when it is renamed
     * back), and so do its other segments, so no record of a kept message is ever deleted.
     */
    private boolean quarantineUnreadable(List<Segment> segments) throws IOException {
        for (boolean grew = true; grew; ) {
            grew = false;
            for (var it = index.values().iterator(); it.hasNext(); ) {
                StoredMessage m = it.next();
                Segment kept = firstKept(m.segments);
                if (kept != null) {
                    it.remove();
                    for (Segment s : m.segments) {
                        grew |= toQuarantine.putIfAbsent(s, "it holds message " + m.id + ", which shares "
                                + kept.path.getFileName() + " with a message this build cannot read") == null;
                    }
                }
            }
        }
        boolean moved = false;
        for (Map.Entry<Segment, String> e : toQuarantine.entrySet()) {
            if (quarantine(e.getKey(), e.getValue())) {
                segments.remove(e.getKey());
                moved = true;
            }
        }
        return moved;
    }

    private Segment firstKept(Segment[] held) {
        for (Segment s : held) {
            if (toQuarantine.containsKey(s)) {
                return s;
            }
        }
        return null;
    }

    private static void truncate(Path path, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.truncate(size);
            ch.force(false);
        }
    }

    @Override
    public void record(byte type, QueueId id, long payloadOffset, int length, ByteBuffer payload) {
        noteId(id.value());
        switch (type) {
            case SpoolRecord.BEGIN:
                begin(id, payload);
                break;
            case SpoolRecord.DATA:
                MessageBuilder m = pending.get(id);
                if (m != null) {
                    m.touch(segment);
                    m.addRange(segment, payloadOffset, length);
                } else {
                    keepIfUnreadable(id);
                }
                break;
            case SpoolRecord.COMMIT:
                keepIfUnreadable(id);
                commit(id, payload.getLong(payload.position()));
                break;
            default:
                pending.remove(id);
                index.remove(id); // an ABORT after a COMMIT the writer never took
                break;
        }
    }

    private void begin(QueueId id, ByteBuffer payload) {
        int version = EnvelopeCodec.version(payload);
        if (version > EnvelopeCodec.VERSION_2) {
            // A newer release wrote it (a downgrade): never dropped, its segments are quarantined.
            unreadable.add(id.value());
            toQuarantine.putIfAbsent(segment, "message " + id + " has envelope version " + version
                    + ", newer than this build reads (written by a newer release): run that release on this spool");
            return;
        }
        try {
            MessageBuilder m = new MessageBuilder(id, EnvelopeCodec.decode(payload));
            m.touch(segment);
            pending.put(id, m);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "spool: message " + id + " in " + segment + " has a bad envelope; dropped", e);
        }
    }

    /** A later record of an unreadable message keeps its segment too. */
    private void keepIfUnreadable(QueueId id) {
        if (!unreadable.isEmpty() && unreadable.contains(id.value())) {
            toQuarantine.putIfAbsent(segment, "it holds records of message " + id
                    + ", whose envelope version is newer than this build reads");
        }
    }

    private void commit(QueueId id, long octets) {
        MessageBuilder m = pending.remove(id);
        if (m == null) {
            return;
        }
        m.touch(segment);
        if (octets != m.octets) {
            LOG.log(Level.WARNING, "spool: message {0} size {1} != committed {2}; dropped",
                    new Object[] {id, m.octets, octets});
            return;
        }
        StoredMessage stored = m.build();
        if (tombstones.contains(id.value())) {
            deletedButPresent.add(stored);
        } else {
            index.put(id, stored);
        }
    }

    private void keepTombstonesOfSurvivors() {
        Set<Segment> survivors = new HashSet<>(liveSegments);
        for (StoredMessage m : deletedButPresent) {
            for (Segment s : m.segments) {
                if (survivors.contains(s)) {
                    tombstonedSurvivors.add(m);
                    break;
                }
            }
        }
    }

    private void noteId(long value) {
        if (Long.compareUnsigned(value, newestIdValue) > 0) {
            newestIdValue = value;
        }
    }
}
