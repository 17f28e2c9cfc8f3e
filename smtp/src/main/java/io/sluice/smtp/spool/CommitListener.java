package io.sluice.smtp.spool;

import java.io.IOException;

/**
 * Told whether a committed message became durable. Exactly one method is called, once, on the
 * {@link java.util.concurrent.Executor} passed to {@link SpoolAppender#commit}; it must not block
 * (it typically runs on the session's event loop and sends the 250 or 451 reply).
 */
public interface CommitListener {
    /**
     * The message is durable and about to be handed to delivery: called on the spool writer's
     * thread before {@link #committed}, and before any delivery of it can start, so a log line
     * written here precedes every line of its delivery. Must not block or throw.
     */
    default void durable(QueueId id) {
    }

    /** The message and its envelope are on disk and fsynced: send {@code 250 Ok: queued as <id>}. */
    void committed(QueueId id);

    /** The message could not be made durable and is not queued: answer with a 4xx. */
    void failed(QueueId id, IOException cause);
}
