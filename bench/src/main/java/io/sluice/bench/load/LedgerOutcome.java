package io.sluice.bench.load;

/**
 * What {@code sluice load} knows about one message attempt, as written to {@code --ledger}. The
 * classification errs towards "may have been queued": a final dot that was handed to the
 * connection counts as sent even if the kernel never got it. Immutable; any thread.
 */
public enum LedgerOutcome {
    /** The server answered the final dot with 250: it must be delivered. */
    ACKNOWLEDGED,
    /** The server answered the final dot with something other than 250: it must not be delivered. */
    REJECTED,
    /** The connection was lost while the message text was being sent, before the final dot. */
    CUT,
    /** The final dot was sent and no reply was read before the connection died: either way is right. */
    IN_FLIGHT,
    /** The envelope was refused, or the connection failed before any message text was sent. */
    NOT_SENT
}
