package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One segment file {@code <loop>-<seq>.seg}. The appender of its loop writes {@link #writeChannel}
 * (only while the segment is its active one); the writer thread forces it and reads
 * {@link #failure}; any thread may read content through {@link #readChannel()}.
 *
 * <p>{@link #refs} counts the active appender (one) plus every pending or queued message with a
 * record in this file; at zero a read-write spool deletes the file.
 */
final class Segment {
    final int loopIndex;
    final long seq;
    final Path path;
    /** Appender's channel; null for a segment found by recovery (never written again). */
    final FileChannel writeChannel;
    /** The appender that wrote this file, to take it back for reuse once it empties; null after recovery. */
    final SpoolAppender writer;
    final AtomicInteger refs = new AtomicInteger();
    /** Sticky: set when a write could not be undone or an fsync failed; commits touching it fail. */
    volatile IOException failure;
    /** Writer-confined: whether the directory entry is known durable. */
    boolean dirSynced;
    /**
     * Written by the writer only, once per commit round that forced this file and succeeded
     * ({@link #publishDurable}): an offset every byte before which that fdatasync covered (the end
     * of the round's last COMMIT record in it, written before the fdatasync began). Its appender
     * reads it to write a SYNCED record (see {@code SpoolAppender.syncedDue}).
     */
    volatile long durableThrough;
    /**
     * Writer-confined: the highest COMMIT end of this file made durable so far, raised per request
     * while a round resolves ({@link CommitRequest#noteDurable}); {@link #durableThrough} follows it
     * once the round's requests are resolved.
     */
    long durableInRound;
    /** Writer-confined: batch number that last scheduled a force, to force once per batch. */
    long forceBatch;

    private FileChannel readChannel;
    /** Identity of the file {@link #readChannel} reads, taken when it was opened. */
    private Object fileKey;
    private boolean deleted;

    Segment(int loopIndex, long seq, Path path, FileChannel writeChannel) {
        this(loopIndex, seq, path, writeChannel, null);
    }

    Segment(int loopIndex, long seq, Path path, FileChannel writeChannel, SpoolAppender writer) {
        this.loopIndex = loopIndex;
        this.seq = seq;
        this.path = path;
        this.writeChannel = writeChannel;
        this.writer = writer;
    }

    /**
     * Writer thread, after it resolved a round that forced this file: one volatile store (none if
     * the round raised nothing), so the loop reading {@link #durableThrough} before each record
     * sees at most one new value, and writes at most one SYNCED record, per round.
     */
    void publishDurable() {
        long durable = durableInRound;
        if (durable > durableThrough) {
            durableThrough = durable;
        }
    }

    /** {@code <loop>-<seq>.free}: an emptied file kept for reuse, never scanned (not a {@code .seg}). */
    static String freeName(int loopIndex, long seq) {
        return name(loopIndex, seq, ".free");
    }

    /** Exclusive bound of a segment number (names beyond it are not segments), so {@link #key} is unique. */
    static final long MAX_SEQ = 1L << 56;

    /** Orders segments by (loop, seq) in one long. */
    static long key(int loopIndex, long seq) {
        return ((long) loopIndex << 56) | seq;
    }

    long key() {
        return key(loopIndex, seq);
    }

    static String fileName(int loopIndex, long seq) {
        return name(loopIndex, seq, ".seg");
    }

    private static String name(int loopIndex, long seq, String suffix) {
        return String.format(Locale.ROOT, "%02d-%012d", loopIndex, seq) + suffix;
    }

    /** Parses {@code <loop>-<seq>.seg} into {loop, seq}, or null for any other name. */
    static long[] parseName(String name) {
        if (!name.endsWith(".seg")) {
            return null;
        }
        int dash = name.indexOf('-');
        if (dash <= 0) {
            return null;
        }
        try {
            long loop = Long.parseLong(name.substring(0, dash));
            long seq = Long.parseLong(name.substring(dash + 1, name.length() - 4));
            if (loop < 0 || loop >= QueueId.MAX_LOOPS || seq < 0 || seq >= MAX_SEQ) {
                return null;
            }
            return new long[] {loop, seq};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The keys of the segment files in the directory now, sorted; one listing. */
    static long[] keysOnDisk(Path segmentsDir) throws IOException {
        long[] keys = new long[64];
        int n = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(segmentsDir, "*.seg")) {
            for (Path p : files) {
                long[] name = parseName(p.getFileName().toString());
                if (name != null) {
                    if (n == keys.length) {
                        keys = Arrays.copyOf(keys, n * 2);
                    }
                    keys[n++] = key((int) name[0], name[1]);
                }
            }
        }
        keys = Arrays.copyOf(keys, n);
        Arrays.sort(keys);
        return keys;
    }

    /** The channel to force: the write channel while one exists, else the read channel. */
    FileChannel forceChannel() throws IOException {
        return writeChannel != null ? writeChannel : readChannel();
    }

    /** Lazily opened read channel shared by readers (positional reads only). */
    synchronized FileChannel readChannel() throws IOException {
        if (deleted) {
            throw new IOException("segment deleted: " + path);
        }
        if (readChannel == null) {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
            try {
                fileKey = currentFileKey();
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            readChannel = ch;
        }
        return readChannel;
    }

    /**
     * For readers in another process than the server's (a read-only spool): throws unless this
     * segment's name still names the file {@link #readChannel} reads. The server renames a file
     * away before it overwrites it for reuse, so bytes read before a passing check are this
     * segment's own.
     */
    synchronized void checkUnmoved() throws IOException {
        if (deleted || fileKey == null || !fileKey.equals(currentFileKey())) {
            throw new IOException("segment " + path.getFileName() + " was removed while being read");
        }
    }

    private Object currentFileKey() throws IOException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            throw new IOException("segment removed: " + path, e);
        }
    }

    /** Closes both channels and removes the file. */
    synchronized void delete() throws IOException {
        deleted = true;
        close();
        Files.deleteIfExists(path);
    }

    /**
     * Closes both channels and renames the file to {@link #freeName}, out of every scan; readers
     * that still ask for it get the same error as after {@link #delete}. Returns the new path.
     */
    synchronized Path retire() throws IOException {
        deleted = true;
        close();
        Path free = path.resolveSibling(freeName(loopIndex, seq));
        Files.move(path, free, StandardCopyOption.ATOMIC_MOVE);
        return free;
    }

    synchronized void close() throws IOException {
        IOException first = null;
        for (FileChannel ch : new FileChannel[] {readChannel, writeChannel}) {
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        readChannel = null;
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return path.getFileName().toString();
    }
}
