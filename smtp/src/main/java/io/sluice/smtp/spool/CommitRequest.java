package io.sluice.smtp.spool;

import java.io.IOException;
import java.util.concurrent.Executor;

/**
 * One message handed from an appender to the writer, and then (as a Runnable) to the caller's
 * executor with its outcome. The single allocation per commit besides the index entry: it
 * carries the message across two thread hand-offs without a lambda per callback.
 */
final class CommitRequest implements Runnable {
    final StoredMessage message;
    final CommitListener listener;
    final Executor executor;
    /**
     * Where the COMMIT record ends in the message's last segment (the one it was written to: a
     * loop's segments only roll forward, and the COMMIT touches its segment last).
     */
    final long commitEnd;
    /** Written by the writer before {@link Executor#execute}, which publishes it. */
    IOException failure;

    CommitRequest(StoredMessage message, CommitListener listener, Executor executor, long commitEnd) {
        this.message = message;
        this.listener = listener;
        this.executor = executor;
        this.commitEnd = commitEnd;
    }

    /**
     * The writer thread, once the round that forced the COMMIT's segment succeeded: the COMMIT was
     * written before the request was queued, so before that fdatasync began, which therefore
     * covered the file through its end. A plain writer-side maximum ({@link Segment#durableInRound});
     * the writer publishes it once per segment after the round ({@link Segment#publishDurable}).
     */
    void noteDurable() {
        Segment commitSegment = message.segments[message.segments.length - 1];
        if (commitEnd > commitSegment.durableInRound) {
            commitSegment.durableInRound = commitEnd;
        }
    }

    /** The writer thread, before publishing the message; a throwing listener must not stop the writer. */
    void announceDurable() {
        try {
            listener.durable(message.id);
        } catch (RuntimeException e) {
            // the listener's own bug; its message is durable all the same
        }
    }

    @Override
    public void run() {
        if (failure == null) {
            listener.committed(message.id);
        } else {
            listener.failed(message.id, failure);
        }
    }
}
