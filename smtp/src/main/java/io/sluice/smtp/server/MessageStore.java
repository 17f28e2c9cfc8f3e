package io.sluice.smtp.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;

/**
 * Where a session puts the messages it receives: the durable spool for {@code sluice serve}, a
 * counter for {@code sluice sink}. One instance per event loop, used by that loop's thread only.
 */
public interface MessageStore {

    /** Opens a message; its bytes follow with {@link #append}. */
    QueueId begin(Envelope envelope) throws IOException;

    /** Appends {@code data}'s remaining bytes (consuming them) to the open message. */
    void append(QueueId id, ByteBuffer data) throws IOException;

    /**
     * Closes the message and makes it durable; {@code listener} is answered through
     * {@code executor} (the session's loop) once it is, or once that failed. If this throws,
     * the message is forgotten and the listener is never called.
     *
     * @param storedOctets every octet appended to the message, our Received: line included
     */
    void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) throws IOException;

    /** Forgets an open message: it will never be queued. */
    void abort(QueueId id);

    /**
     * True while the store cannot make messages durable in time (the spool's fsyncs hang): the
     * session answers MAIL with {@code 451 4.3.0} instead of taking a message that would wait
     * behind the stall. Called for every MAIL, so it must be cheap (a volatile read).
     */
    default boolean stalled() {
        return false;
    }

    /** False for a store that drops what it is given: the session then skips building our Received: line. */
    default boolean keepsContent() {
        return true;
    }
}
