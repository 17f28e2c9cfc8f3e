package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;

/**
 * Appends the messages of one event loop to that loop's segment files. Confined to one thread
 * (the loop's), so it takes no locks: every method must be called from that thread, and several
 * sessions of the loop may interleave their messages. Writes go straight to the file (page
 * cache); durability comes from {@link #commit}, whose listener is answered after the spool
 * writer's group fsync.
 *
 * <p>Any {@link IOException} (e.g. ENOSPC) propagates; the message it concerned is then forgotten
 * (as if aborted) and the session should answer {@code 452 4.3.1}. A failed write never leaves a
 * half record in the middle of a segment: it is truncated away, or, if that fails too, the
 * segment is retired and the torn tail is cut at the next start.
 */
public final class SpoolAppender {
    private final Spool spool;
    private final int loopIndex;
    private final QueueIdGenerator ids;
    private final int maxRecordPayloadBytes;
    private final long segmentMaxBytes;
    private final HashMap<QueueId, MessageBuilder> pending = new HashMap<>();
    /** A record's header, or a new segment's (the larger). */
    private final ByteBuffer header = ByteBuffer.allocateDirect(
            Math.max(SpoolRecord.HEADER_BYTES, SpoolRecord.SEGMENT_HEADER_BYTES));
    private final ByteBuffer commitPayload = ByteBuffer.allocateDirect(SpoolRecord.COMMIT_PAYLOAD_BYTES);
    /** A due SYNCED record, written in front of the next record (once per appender: no per-round allocation). */
    private final ByteBuffer synced = ByteBuffer.allocateDirect(SpoolRecord.SYNCED_RECORD_BYTES);
    private final ByteBuffer[] gather = new ByteBuffer[3];
    private final CRC32C crc = new CRC32C();
    /**
     * Emptied segment files of this loop ({@code .free}) kept for reuse, readied off this thread
     * by the spool's SegmentPreparer, and this loop's segment numbers: overwriting a file's
     * existing blocks needs no block allocation, so its fdatasync commits no journal transaction
     * (measured on ext4: ~1 MB rounds 2.9 → 1.8 ms).
     */
    private final KeptSegments kept;
    private Segment current;
    private int salt;
    private long writeOffset;
    /** The offset the last SYNCED record written into {@link #current} claims durable (0: none yet). */
    private long syncedClaim;
    private Thread owner;

    SpoolAppender(Spool spool, int loopIndex, long firstSeq, long newestIdValue, SpoolOptions options,
                  SegmentPreparer preparer) {
        this.spool = spool;
        this.loopIndex = loopIndex;
        this.kept = new KeptSegments(spool, preparer, loopIndex, firstSeq, options.recycledSegmentsPerLoop());
        this.ids = new QueueIdGenerator(loopIndex, newestIdValue, System::currentTimeMillis);
        this.maxRecordPayloadBytes = options.maxRecordPayloadBytes();
        this.segmentMaxBytes = options.segmentMaxBytes();
    }

    /** The event-loop index this appender writes for. */
    public int loopIndex() {
        return loopIndex;
    }

    /**
     * Any thread: whether the spool's writer has made no progress for {@code spool.sync_stall_timeout}
     * or has stopped (see {@link Spool#commitsStalled}); two volatile reads and a clock read.
     */
    public boolean commitsStalled() {
        return spool.commitsStalled();
    }

    /** Messages begun and neither committed nor aborted. */
    public int pendingMessages() {
        return pending.size();
    }

    /** Starts a message: writes its BEGIN record (the envelope) and mints its id. */
    public QueueId begin(Envelope envelope) throws IOException {
        assert confined();
        // Allocates the envelope bytes and the builder: once per message, not per chunk.
        byte[] encoded = EnvelopeCodec.encode(envelope);
        if (encoded.length > SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("envelope octets=" + encoded.length
                    + " > MAX_BEGIN_PAYLOAD_BYTES=" + SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES);
        }
        QueueId id = ids.next();
        MessageBuilder message = new MessageBuilder(id, envelope);
        try {
            writeRecord(SpoolRecord.BEGIN, id, ByteBuffer.wrap(encoded), encoded.length, message);
        } catch (IOException e) {
            message.releaseRefs(spool);
            throw e;
        }
        pending.put(id, message);
        return id;
    }

    /**
     * Appends the buffer's remaining bytes to the message's content as one or more DATA records
     * (a gathering write of a small header and the buffer itself: no copy of a direct buffer).
     * On return the buffer's position is at its limit.
     */
    public void append(QueueId id, ByteBuffer data) throws IOException {
        assert confined();
        MessageBuilder message = pendingMessage(id);
        try {
            while (data.hasRemaining()) {
                int length = Math.min(data.remaining(), maxRecordPayloadBytes);
                long offset = writeRecord(SpoolRecord.DATA, id, data, length, message);
                message.addRange(current, offset, length);
            }
        } catch (IOException e) {
            forget(message);
            throw e;
        }
    }

    /**
     * Abandons a message (client gone, RSET, size limit): writes an ABORT record, no fsync. The
     * message is forgotten even if the write fails; unknown ids are ignored.
     */
    public void abort(QueueId id) throws IOException {
        assert confined();
        MessageBuilder message = pending.remove(id);
        if (message == null) {
            return;
        }
        try {
            writeRecord(SpoolRecord.ABORT, id, null, 0, null);
        } finally {
            message.releaseRefs(spool);
        }
    }

    /**
     * Ends a message: writes its COMMIT record and queues it for the writer's next group fsync.
     * If this returns normally, exactly one of the listener's methods will be called, once, on
     * {@code executor}; if it throws, the message is forgotten and the listener is never called.
     *
     * @param messageOctets the content size, which must equal the bytes appended (a cheap check
     *                      that the session and the spool agree)
     */
    public void commit(QueueId id, long messageOctets, CommitListener listener, Executor executor)
            throws IOException {
        assert confined();
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        MessageBuilder message = pendingMessage(id);
        if (messageOctets != message.octets) {
            throw new IllegalArgumentException(
                    "messageOctets=" + messageOctets + " != appended octets=" + message.octets);
        }
        commitPayload.clear();
        commitPayload.putLong(messageOctets).flip();
        try {
            writeRecord(SpoolRecord.COMMIT, id, commitPayload, SpoolRecord.COMMIT_PAYLOAD_BYTES, message);
        } catch (IOException e) {
            forget(message);
            throw e;
        }
        pending.remove(id);
        CommitRequest request = new CommitRequest(message.build(), listener, executor, writeOffset);
        String refused = spool.submit(request);
        if (refused != null) {
            IOException e = new IOException(refused);
            abortAfterCommitRecord(id, e);
            spool.discardRefusedCommit(request.message, e);
            throw e;
        }
    }

    /** An ABORT after a COMMIT cancels it in recovery: the writer never saw this message. */
    private void abortAfterCommitRecord(QueueId id, IOException reason) {
        try {
            writeRecord(SpoolRecord.ABORT, id, null, 0, null);
        } catch (IOException e) {
            reason.addSuppressed(e);
        }
    }

    private MessageBuilder pendingMessage(QueueId id) {
        MessageBuilder message = pending.get(id);
        if (message == null) {
            throw new IllegalStateException("no pending message " + id + " on loop " + loopIndex);
        }
        return message;
    }

    private void forget(MessageBuilder message) {
        pending.remove(message.id);
        message.releaseRefs(spool);
    }

    /**
     * Writes one whole record into the current segment and returns its payload's file offset;
     * advances {@code payload} by {@code length} on success only. A SYNCED record that is due goes
     * in front of it, in the same gathering write (no syscall of its own).
     */
    private long writeRecord(byte type, QueueId id, ByteBuffer payload, int length, MessageBuilder message)
            throws IOException {
        ensureSegment();
        Segment segment = current;
        long durable = syncedDue();
        int count = 0;
        int syncedBytes = 0;
        if (durable > 0) {
            SpoolRecord.encodeSynced(synced, crc, loopIndex, durable, salt);
            gather[count++] = synced;
            syncedBytes = SpoolRecord.SYNCED_RECORD_BYTES;
        }
        if (message != null && message.touch(segment)) {
            segment.refs.incrementAndGet();
        }
        SpoolRecord.encodeHeader(header, crc, type, id, payload, length, salt);
        gather[count++] = header;
        int position = 0;
        int limit = 0;
        if (length > 0) {
            position = payload.position();
            limit = payload.limit();
            payload.limit(position + length);
            gather[count++] = payload;
        }
        long start = writeOffset;
        try {
            long remaining = syncedBytes + SpoolRecord.HEADER_BYTES + (long) length;
            while (remaining > 0) {
                remaining -= segment.writeChannel.write(gather, 0, count);
            }
        } catch (IOException e) {
            spool.noteWriteFailure(e);
            spool.dropKeptFiles(); // a full disk gets back the space every loop's kept files hold
            undoPartialWrite(segment, start, e); // the SYNCED record too: due again next time
            if (length > 0) {
                payload.limit(limit).position(position);
            }
            throw e;
        } finally {
            gather[1] = null;
            gather[2] = null;
        }
        if (length > 0) {
            payload.limit(limit);
        }
        if (durable > 0) {
            syncedClaim = durable;
        }
        writeOffset = start + syncedBytes + SpoolRecord.HEADER_BYTES + length;
        return writeOffset - length;
    }

    /**
     * The offset a SYNCED record written now would claim, or 0 if none is due: a commit round has
     * made the current segment durable further than the last SYNCED record in it claims. The
     * writer raises {@link Segment#durableThrough} once per round, so there is never more than one
     * per round, 28 octets, with no fsync of its own: it rides with the next round, or is lost in
     * a crash, which only weakens recovery's evidence. It goes with the segment's next record
     * rather than when the commit's listener runs: it becomes durable with exactly the same round
     * either way (nothing is fsynced unless a record follows it), it costs no write of its own,
     * and a listener's executor need not be this loop.
     */
    private long syncedDue() {
        long durable = current.durableThrough; // one volatile read per record
        return durable > syncedClaim ? durable : 0;
    }

    /**
     * At close, on the closing thread once this loop no longer appends and the writer has answered
     * its last round: the SYNCED record of that round, which no later record will carry, so the
     * spool's final force makes it durable. A failure only weakens the evidence.
     */
    void writeSyncedAtClose() {
        Segment segment = current;
        if (segment == null || segment.failure != null || !segment.writeChannel.isOpen()) {
            return;
        }
        long durable = syncedDue();
        if (durable == 0) {
            return;
        }
        SpoolRecord.encodeSynced(synced, crc, loopIndex, durable, salt);
        try {
            while (synced.hasRemaining()) {
                segment.writeChannel.write(synced);
            }
            writeOffset += SpoolRecord.SYNCED_RECORD_BYTES;
            syncedClaim = durable;
        } catch (IOException e) {
            // the evidence of the last round only; every message in it was fsynced before its 250
        }
    }

    /** Cuts a half-written record off; if even that fails, retires the segment (sticky failure). */
    private static void undoPartialWrite(Segment segment, long start, IOException cause) {
        try {
            segment.writeChannel.truncate(start);
            segment.writeChannel.position(start);
        } catch (IOException e) {
            cause.addSuppressed(e);
            segment.failure = cause;
        }
    }

    private void ensureSegment() throws IOException {
        if (current == null || current.failure != null || writeOffset >= segmentMaxBytes) {
            roll();
        }
    }

    /**
     * Starts the next segment: the kept file the preparer readied (a rename, no fsync here), else
     * a new file; it never waits for the preparer. The writer fsyncs the directory before it
     * acknowledges any commit in it.
     */
    private void roll() throws IOException {
        KeptSegments.NextSegment ready = kept.claim();
        long seq;
        long nonce;
        Path path;
        FileChannel channel;
        if (ready != null) {
            seq = ready.seq;
            nonce = ready.nonce;
            path = ready.path;
            channel = ready.channel;
            spool.noteSegmentRecycled();
        } else {
            seq = kept.mintForNewFile();
            nonce = spool.newSegmentNonce();
            path = spool.segmentsDir().resolve(Segment.fileName(loopIndex, seq));
            channel = createSegment(path, nonce, seq);
        }
        Segment segment = new Segment(loopIndex, seq, path, channel, this);
        segment.refs.set(1);
        spool.registerSegment(segment);
        Segment old = current;
        current = segment;
        salt = SpoolRecord.crcSalt(SpoolRecord.SEGMENT_VERSION, nonce, seq);
        writeOffset = SpoolRecord.SEGMENT_HEADER_BYTES;
        syncedClaim = 0;
        if (old != null) {
            spool.release(old);
        }
        kept.rolled();
    }

    private FileChannel createSegment(Path path, long nonce, long seq) throws IOException {
        spool.makeRoomForNewSegment();
        FileChannel channel = spool.channelFactory().create(path);
        try {
            writeSegmentHeader(channel, nonce, seq);
        } catch (IOException e) {
            try {
                channel.close();
                Files.deleteIfExists(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return channel;
    }

    private void writeSegmentHeader(FileChannel channel, long nonce, long seq) throws IOException {
        SpoolRecord.encodeSegmentHeader(header, loopIndex, nonce, seq);
        while (header.hasRemaining()) {
            channel.write(header);
        }
    }

    /** Any thread: this loop's kept files and segment numbers (see {@link KeptSegments}). */
    KeptSegments keptSegments() {
        return kept;
    }

    private boolean confined() {
        Thread thread = Thread.currentThread();
        if (owner == null) {
            owner = thread;
        }
        return owner == thread;
    }
}
