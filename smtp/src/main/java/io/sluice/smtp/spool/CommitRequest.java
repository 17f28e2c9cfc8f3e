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
    /** The segment holding the COMMIT record, and where that record ends. */
    final Segment commitSegment;
    final long commitEnd;
    /** Written by the writer before {@link Executor#execute}, which publishes it. */
    IOException failure;

    CommitRequest(StoredMessage message, CommitListener listener, Executor executor, Segment commitSegment,
                  long commitEnd) {
        this.message = message;
        this.listener = listener;
        this.executor = executor;
        this.commitSegment = commitSegment;
        this.commitEnd = commitEnd;
    }

    /**
     * The writer thread, once the round that forced {@link #commitSegment} succeeded: the COMMIT
     * was written before the request was queued, so before that fdatasync began, which therefore
     * covered the file through its end. One volatile write at most; the appender reads it.
     */
    void noteDurable() {
        if (commitEnd > commitSegment.durableThrough) {
            commitSegment.durableThrough = commitEnd;
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
