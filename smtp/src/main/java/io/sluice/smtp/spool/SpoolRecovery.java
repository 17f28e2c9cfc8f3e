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
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
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
    /**
     * Tombstones kept while a quarantined ({@code .corrupt}) file is in segments/: their messages
     * may be in it, and restoring it must not bring delivered mail back. See {@link #keepTombstones}.
     */
    final List<Long> tombstonesOfQuarantined = new ArrayList<>();
    /**
     * Tombstones kept while a surviving file with a skipped damaged range is on disk (id to those
     * files): their messages may have records in the range, and its bytes may read whole again (a
     * restored file, a transient bad read). See {@link #keepTombstones}.
     */
    final Map<Long, List<Segment>> tombstonesOfDamaged = new LinkedHashMap<>();
    long newestIdValue;
    int tornSegments;
    int deletedSegments;
    /** Files renamed {@code .corrupt} by this recovery. */
    int quarantinedSegments;
    /**
     * Ranges of fsynced records found damaged inside a segment and skipped (the file kept; see
     * SegmentScanner#resumeAfterDamage).
     */
    int damagedRanges;

    private final Set<Long> tombstones;
    private final boolean readOnly;
    private final Map<QueueId, MessageBuilder> pending = new HashMap<>();
    /**
     * Ends of messages whose BEGIN the scan never saw (DATA or COMMIT records of an unknown id,
     * no ABORT): the segments holding them. Their start may be in a quarantined file.
     */
    private final Map<QueueId, List<Segment>> orphanEnds = new HashMap<>();
    private final List<StoredMessage> deletedButPresent = new ArrayList<>();
    /** Ids of messages whose BEGIN has an envelope version newer than this build reads. */
    private final Set<Long> unreadable = new HashSet<>();
    /** Segments to quarantine after the scan (they hold records of an unreadable message), with why. */
    private final Map<Segment, String> toQuarantine = new LinkedHashMap<>();
    private final SegmentScanner scanner = new SegmentScanner();
    /** Per loop: the numbers of the files quarantined by this run (by name and, if it says, by header). */
    private final Map<Integer, TreeMap<Long, String>> quarantinedSeqs = new HashMap<>();
    /** The name {@link #quarantine} last gave a file. */
    private String lastQuarantineName;
    private final Set<Segment> quarantinedHere = new HashSet<>();
    private boolean anyQuarantinedFile;
    /**
     * The newest queue id of any record framed in the quarantined files (unsigned; an unreadable
     * one counts as its modification time), or -1 (all ids) when even that could not be read:
     * only tombstones not newer than it can concern them.
     */
    private long newestQuarantinedId;
    private Segment segment;
    /** Damaged ranges skipped, in scan order; per loop the last one (its later orphan records count against it). */
    private final List<Damage> damages = new ArrayList<>();
    private final Map<Integer, Damage> lastDamageOfLoop = new HashMap<>();
    /** Messages that may have had a record in a damaged range: begun before it, or ending after it unbegun. */
    private final Map<QueueId, Damage> exposedToDamage = new HashMap<>();

    /** One skipped range of one file (recovery, rare: one small object per damage). */
    private static final class Damage {
        final Segment segment;
        final long from;
        final long to;
        /**
         * The id of the first BEGIN of this loop scanned after the range, if {@link #begunAfter}:
         * ids are minted in BEGIN order, so every message with a record in the range is older.
         */
        long firstBegunAfter;
        boolean begunAfter;

        Damage(Segment segment, long from, long to) {
            this.segment = segment;
            this.from = from;
            this.to = to;
        }
    }

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
        anyQuarantinedFile |= noteQuarantinedFiles(segmentsDir); // earlier runs' files too
        Map<Segment, String> spanning = startsSpanningIntoQuarantined();
        spanning.putAll(endsSpanningFromQuarantined());
        for (Segment s : segments) {
            if (s.refs.get() > 0 || readOnly) {
                if (spanning.containsKey(s) && !readOnly) {
                    // Pinned for this run: freed with its other messages, it would take the part
                    // of a message the quarantined file lacks; the next start quarantines it.
                    s.refs.incrementAndGet();
                }
                liveSegments.add(s);
            } else if (spanning.containsKey(s)) {
                quarantine(s, "it holds the start of " + spanning.get(s) + ": put the two back together");
                dirChanged = true;
            } else {
                s.delete();
                deletedSegments++;
                dirChanged = true;
            }
        }
        anyQuarantinedFile |= noteQuarantinedFiles(segmentsDir);
        keepTombstones();
        reportDamage();
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
            if (scanner.headerSeq() >= 0) {
                // The WARN says to restore it under its header's name: never mint that name for new mail.
                noteSeq(scanner.headerLoop(), scanner.headerSeq());
            }
            boolean moved = quarantine(s, "its header names it " + scanner.headerName() + ": renamed, restored or copied"
                    + " under another name by hand: its messages are in it; put it back under that name with the server"
                    + " stopped");
            if (moved && scanner.headerSeq() >= 0) {
                noteQuarantined(scanner.headerLoop(), scanner.headerSeq());
            }
            return moved;
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
            // INFO: the server, not a reader, decides; it may be repairing the file right now.
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
        anyQuarantinedFile = true;
        quarantinedHere.add(s);
        lastQuarantineName = target.getFileName().toString();
        noteQuarantined(s.loopIndex, s.seq);
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
    public void damaged(long from, long to) {
        Damage damage = new Damage(segment, from, to);
        damages.add(damage);
        damagedRanges++;
        lastDamageOfLoop.put(segment.loopIndex, damage);
        for (QueueId id : pending.keySet()) {
            if (id.loopIndex() == segment.loopIndex) {
                exposedToDamage.putIfAbsent(id, damage); // its next record may have been in the range
            }
        }
    }

    /**
     * One ERROR per file with skipped damage: where, and how many messages with a record that may
     * have been in it are not queued (begun before it and never completed, or ended after it
     * without a BEGIN; aborted and tombstoned ones are not counted).
     */
    private void reportDamage() {
        Map<Segment, List<Damage>> byFile = new LinkedHashMap<>();
        for (Damage d : damages) {
            byFile.computeIfAbsent(d.segment, k -> new ArrayList<>()).add(d);
        }
        for (Map.Entry<Segment, List<Damage>> e : byFile.entrySet()) {
            StringBuilder ranges = new StringBuilder();
            for (Damage d : e.getValue()) {
                ranges.append(ranges.length() == 0 ? "" : ", ").append('[').append(d.from).append(", ").append(d.to).append(')');
            }
            int lost = 0;
            for (Map.Entry<QueueId, Damage> x : exposedToDamage.entrySet()) {
                if (x.getValue().segment == e.getKey() && !index.containsKey(x.getKey())
                        && !tombstones.contains(x.getKey().value())) {
                    lost++;
                }
            }
            LOG.log(readOnly ? Level.INFO : Level.SEVERE, "spool: {0} has damaged records at offsets {1} in data an fsync"
                    + " had covered (a bad sector, bit rot or a stray write, not a torn write): skipped, the file {2};"
                    + " {3} message(s) with a record there not queued, every other message in it queued as usual",
                    new Object[] {e.getKey().path, ranges, readOnly ? "not changed (read-only)" : "kept, not cut", lost});
        }
    }

    @Override
    public void record(byte type, QueueId id, long payloadOffset, int length, ByteBuffer payload) {
        if (type == SpoolRecord.SYNCED) {
            return; // the scanner's evidence, no message's record
        }
        noteId(id.value());
        switch (type) {
            case SpoolRecord.BEGIN:
                boundDamages(id);
                begin(id, payload);
                break;
            case SpoolRecord.DATA:
                MessageBuilder m = pending.get(id);
                if (m != null) {
                    m.touch(segment);
                    m.addRange(segment, payloadOffset, length);
                } else {
                    noteEndWithoutBegin(id);
                }
                break;
            case SpoolRecord.COMMIT:
                if (!pending.containsKey(id)) {
                    noteEndWithoutBegin(id);
                }
                commit(id, payload.getLong(payload.position()));
                break;
            default:
                exposedToDamage.remove(id); // aborted: not lost
                orphanEnds.remove(id);
                pending.remove(id);
                index.remove(id); // an ABORT after a COMMIT the writer never took
                break;
        }
    }

    /** A BEGIN of {@code id}: the id bound of this loop's damaged ranges that had none yet. */
    private void boundDamages(QueueId id) {
        for (Damage d : damages) { // usually empty
            if (!d.begunAfter && d.segment.loopIndex == segment.loopIndex) {
                d.begunAfter = true;
                d.firstBegunAfter = id.value();
            }
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

    /**
     * A DATA or COMMIT record whose BEGIN is not pending: a later record of an unreadable message
     * (its segment is quarantined with the BEGIN's), else possibly the end of a message whose start
     * is in a quarantined file.
     */
    private void noteEndWithoutBegin(QueueId id) {
        Damage damage = lastDamageOfLoop.get(segment.loopIndex);
        if (damage != null) {
            exposedToDamage.putIfAbsent(id, damage); // its BEGIN may have been in the range
        }
        if (!unreadable.isEmpty() && unreadable.contains(id.value())) {
            toQuarantine.putIfAbsent(segment, "it holds records of message " + id
                    + ", whose envelope version is newer than this build reads");
        } else {
            noteOrphanEnd(id);
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

    /**
     * Messages begun and never committed in the scan, whose records all lie before a quarantined
     * file of their loop (this run's or an earlier one's): their COMMIT may be in it. Their
     * segments that nothing else references are quarantined with it instead of deleted, and live
     * ones are pinned for the run, so restoring it brings them back whole. Maps each such segment
     * to one such message.
     */
    private Map<Segment, String> startsSpanningIntoQuarantined() {
        Map<Segment, String> spanning = new HashMap<>();
        if (readOnly || quarantinedSeqs.isEmpty()) {
            return spanning;
        }
        for (MessageBuilder m : pending.values()) {
            Segment[] touched = m.build().segments; // recovery, rare path: one copy per unfinished message
            long last = -1;
            for (Segment s : touched) {
                last = Math.max(last, s.seq);
            }
            Map.Entry<Long, String> after = touched.length == 0 ? null
                    : quarantinedSeqs.getOrDefault(m.id.loopIndex(), new TreeMap<>()).higherEntry(last);
            if (after != null) {
                for (Segment s : touched) {
                    if (!quarantinedHere.contains(s)) {
                        spanning.putIfAbsent(s, "message " + m.id + ", whose end may be in " + after.getValue());
                    }
                }
            }
        }
        return spanning;
    }

    /** Recovery, rare: a record of a message whose BEGIN was not seen (allocates per such message). */
    private void noteOrphanEnd(QueueId id) {
        List<Segment> in = orphanEnds.computeIfAbsent(id, k -> new ArrayList<>());
        if (in.isEmpty() || in.get(in.size() - 1) != segment) {
            in.add(segment);
        }
    }

    /**
     * Segments holding the end of a message (not tombstoned, not aborted) whose BEGIN lies in no
     * scanned segment but may lie in a quarantined file of its loop numbered before them: kept
     * with it (quarantined, or pinned if live), so restoring it brings the message back whole.
     */
    private Map<Segment, String> endsSpanningFromQuarantined() {
        Map<Segment, String> spanning = new HashMap<>();
        if (readOnly || quarantinedSeqs.isEmpty()) {
            return spanning;
        }
        for (Map.Entry<QueueId, List<Segment>> e : orphanEnds.entrySet()) {
            QueueId id = e.getKey();
            List<Segment> in = e.getValue();
            if (tombstones.contains(id.value()) || in.isEmpty()) {
                continue;
            }
            Map.Entry<Long, String> before = quarantinedSeqs.getOrDefault(id.loopIndex(), new TreeMap<>())
                    .lowerEntry(in.get(0).seq);
            if (before != null) {
                for (Segment s : in) {
                    if (!quarantinedHere.contains(s)) {
                        spanning.putIfAbsent(s, "the end of message " + id + ", whose start may be in " + before.getValue());
                    }
                }
            }
        }
        return spanning;
    }

    /**
     * Remembers that quarantined file {@code name} (of this run or an earlier one) held segment
     * {@code seq} of the loop, by its name or by its header (a renamed file: both count).
     */
    private void noteQuarantinedSeq(int loopIndex, long seq, String name) {
        if (loopIndex >= 0 && loopIndex < QueueId.MAX_LOOPS && seq >= 0 && seq < Segment.MAX_SEQ) {
            quarantinedSeqs.computeIfAbsent(loopIndex, l -> new TreeMap<>()).putIfAbsent(seq, name);
        }
    }

    /** Remembers that the file {@link #quarantine} just moved held segment {@code seq} of the loop. */
    private void noteQuarantined(int loopIndex, long seq) {
        quarantinedSeqs.computeIfAbsent(loopIndex, l -> new TreeMap<>()).put(seq, lastQuarantineName);
    }

    /**
     * Lists the quarantined files in segments/ (this run's and earlier ones'): returns whether
     * any exists, and counts the numbers they name (file name and format-3 header) as used, so
     * new mail never takes the name an operator is told to restore one under, and as places the
     * other part of a spanning message may be (see {@link #noteQuarantinedSeq}). Idempotent: run
     * before the spanning checks and again after them.
     */
    private boolean noteQuarantinedFiles(Path segmentsDir) throws IOException {
        boolean any = false;
        ByteBuffer header = ByteBuffer.allocate(SpoolRecord.SEGMENT_HEADER_BYTES); // once per file, rare
        try (DirectoryStream<Path> files = Files.newDirectoryStream(segmentsDir, "*.corrupt*")) {
            for (Path p : files) {
                any = true;
                String name = p.getFileName().toString();
                int seg = name.indexOf(".seg");
                long[] own = seg > 0 ? Segment.parseName(name.substring(0, seg + 4)) : null;
                if (own != null) {
                    noteSeq((int) own[0], own[1]);
                    noteQuarantinedSeq((int) own[0], own[1], name);
                }
                noteHeaderSeq(p, header.clear(), name);
                long newest = newestRecordId(p);
                if (newest == -1 || Long.compareUnsigned(newest, newestQuarantinedId) > 0) {
                    newestQuarantinedId = newest;
                }
            }
        }
        return any;
    }

    /**
     * Framing-only scan of a quarantined file (its CRCs may fail under its name, so none is
     * checked): the newest id of its records, walked from its header by their lengths until one
     * does not frame. Ids grow with time, so mail accepted after the file was written has newer
     * ids and its tombstones need not be kept for it. A file that cannot be read or frames no
     * record is bounded by its modification time instead ({@link #newestIdAtMtime}); -1 (every
     * id) only when even that cannot be read.
     */
    private static long newestRecordId(Path file) {
        ByteBuffer record = ByteBuffer.allocate(SpoolRecord.HEADER_BYTES); // once per quarantined file, rare
        long newest = -1;
        boolean any = false;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long offset = firstRecordOffset(ch);
            while (offset >= 0 && offset + SpoolRecord.HEADER_BYTES <= size) {
                record.clear();
                while (record.hasRemaining() && ch.read(record, offset + record.position()) >= 0) {
                    // a positional read may return fewer bytes
                }
                int length = record.getInt(4);
                if (record.hasRemaining() || !SpoolRecord.isType(record.get(0)) || record.get(1) != SpoolRecord.MAGIC
                        || length < 0 || length > SpoolRecord.MAX_PAYLOAD_BYTES
                        || offset + SpoolRecord.HEADER_BYTES + length > size) {
                    break;
                }
                long id = record.getLong(8);
                if (!any || Long.compareUnsigned(id, newest) > 0) {
                    newest = id;
                    any = true;
                }
                offset += SpoolRecord.HEADER_BYTES + length;
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, "spool: cannot scan " + file, e);
            return newestIdAtMtime(file);
        }
        return any ? newest : newestIdAtMtime(file);
    }

    /** Slack for an id minted ahead of the clock (a full per-millisecond counter borrows the next milliseconds). */
    private static final long MTIME_SLACK_MILLIS = 60_000;

    /**
     * The largest id that can have been minted by a file's last write: every record in it was
     * written by then. Without this bound, an unreadable file would pin every later run's
     * tombstones and journal records (growth for as long as it stays). -1 (every id) if the
     * time cannot be read.
     */
    private static long newestIdAtMtime(Path file) {
        try {
            long millis = Files.getLastModifiedTime(file).toMillis() + MTIME_SLACK_MILLIS;
            int shift = QueueId.COUNTER_BITS + QueueId.LOOP_BITS;
            if (millis < 0 || millis >= 1L << (64 - shift)) {
                return -1;
            }
            return (millis << shift) | ((1L << shift) - 1);
        } catch (IOException e) {
            LOG.log(Level.FINE, "spool: cannot read the time of " + file, e);
            return -1;
        }
    }

    /** Where a segment file's first record starts, from its header's version; -1 if it has none. */
    private static long firstRecordOffset(FileChannel ch) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(12);
        while (header.hasRemaining() && ch.read(header, header.position()) >= 0) {
            // the magic and version
        }
        if (header.hasRemaining() || header.getLong(0) != SpoolRecord.SEGMENT_MAGIC) {
            return -1;
        }
        switch (header.getInt(8)) {
            case SpoolRecord.SEGMENT_VERSION_UNSALTED:
                return SpoolRecord.SEGMENT_HEADER_BYTES_UNSALTED;
            case SpoolRecord.SEGMENT_VERSION_NAME_SALTED:
                return SpoolRecord.SEGMENT_HEADER_BYTES_NAME_SALTED;
            case SpoolRecord.SEGMENT_VERSION_NUMBERED:
            case SpoolRecord.SEGMENT_VERSION:
                return SpoolRecord.SEGMENT_HEADER_BYTES;
            default:
                return -1;
        }
    }

    private void noteHeaderSeq(Path file, ByteBuffer header, String name) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (header.hasRemaining() && ch.read(header) >= 0) {
                // read the whole header or up to end of file
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, "spool: cannot read the header of " + file, e);
            return;
        }
        if (header.position() == SpoolRecord.SEGMENT_HEADER_BYTES && header.getLong(0) == SpoolRecord.SEGMENT_MAGIC
                && SpoolRecord.recordsSeq(header.getInt(8)) && header.getInt(8) <= SpoolRecord.SEGMENT_VERSION) {
            noteSeq(header.getInt(12), header.getLong(24));
            noteQuarantinedSeq(header.getInt(12), header.getLong(24), name);
        }
    }

    private void noteSeq(int loopIndex, long seq) {
        if (loopIndex >= 0 && loopIndex < QueueId.MAX_LOOPS && seq >= 0 && seq < Segment.MAX_SEQ) {
            maxSeqPerLoop[loopIndex] = Math.max(maxSeqPerLoop[loopIndex], seq);
        }
    }

    /**
     * Which tombstones deleted.log keeps. A tombstoned message found whole stays tombstoned while a
     * surviving segment holds a record of it, or while a file quarantined by this run does. While
     * any quarantined file is in segments/, so does every tombstone of a message not found whole
     * in the scan whose id is not newer than the newest id framed in those files: its records may
     * be in one, and restoring it must not resurrect it. Newer ids were minted after every such
     * file was written, so their tombstones are not pinned (deleted.log does not grow with all
     * mail delivered while a file stays quarantined). Likewise a surviving file with a skipped
     * damaged range keeps every tombstone of its loop not found whole whose id is older than the
     * first BEGIN after the range (every id of the loop if none follows), tracked over that file:
     * released when the file goes.
     */
    private void keepTombstones() {
        Set<Segment> survivors = new HashSet<>(liveSegments);
        Set<Long> foundWhole = new HashSet<>();
        for (StoredMessage m : deletedButPresent) {
            foundWhole.add(m.id.value());
            boolean survives = false;
            boolean quarantined = false;
            for (Segment s : m.segments) {
                survives |= survivors.contains(s);
                quarantined |= quarantinedHere.contains(s);
            }
            if (survives) {
                tombstonedSurvivors.add(m);
            } else if (quarantined) {
                tombstonesOfQuarantined.add(m.id.value());
            }
        }
        if (!readOnly) {
            keepTombstonesOfDamaged(survivors, foundWhole);
        }
        if (anyQuarantinedFile && !readOnly) {
            for (long id : tombstones) {
                if (!foundWhole.contains(id) && !tombstonesOfDamaged.containsKey(id)
                        && Long.compareUnsigned(id, newestQuarantinedId) <= 0) {
                    tombstonesOfQuarantined.add(id);
                }
            }
        }
    }

    private void keepTombstonesOfDamaged(Set<Segment> survivors, Set<Long> foundWhole) {
        for (Damage d : damages) {
            if (!survivors.contains(d.segment)) {
                continue; // deleted or quarantined: the quarantine's bound covers it
            }
            for (long id : tombstones) {
                if (!foundWhole.contains(id) && QueueId.loopIndexOf(id) == d.segment.loopIndex
                        && (!d.begunAfter || Long.compareUnsigned(id, d.firstBegunAfter) < 0)) {
                    List<Segment> files = tombstonesOfDamaged.computeIfAbsent(id, k -> new ArrayList<>());
                    if (!files.contains(d.segment)) {
                        files.add(d.segment);
                    }
                }
            }
        }
    }

    /**
     * After {@link #run}: the newest id (unsigned, -1 for every id) a quarantined file in
     * segments/ may hold, or empty when there is none (see {@link MessageSource#quarantinedIdBound}).
     */
    OptionalLong quarantinedIdBound() {
        return anyQuarantinedFile ? OptionalLong.of(newestQuarantinedId) : OptionalLong.empty();
    }

    private void noteId(long value) {
        if (Long.compareUnsigned(value, newestIdValue) > 0) {
            newestIdValue = value;
        }
    }
}
