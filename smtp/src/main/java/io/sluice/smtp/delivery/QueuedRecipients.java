package io.sluice.smtp.delivery;

import java.util.ArrayList;
import java.util.List;

import io.sluice.smtp.spool.QueuedMessage;

/**
 * The queue manager's state of one message: per recipient its route, state, attempt count, next
 * attempt time and last result, in parallel arrays (one object per message, not per recipient).
 * Confined to the queue thread.
 */
final class QueuedRecipients {
    /** Waiting for its next attempt ({@code retryAtMillis}), or new (retry at 0). */
    static final byte WAITING = 0;
    /** In a destination's ready queue. */
    static final byte READY = 1;
    /** Handed to a transport; a result is awaited. */
    static final byte IN_FLIGHT = 2;
    /** Final: delivered. */
    static final byte DELIVERED = 3;
    /** Final: failed, to be bounced. */
    static final byte FAILED = 4;

    final QueuedMessage message;
    final String[] recipients;
    final Route[] routes;
    final byte[] states;
    final int[] attempts;
    final long[] retryAtMillis;
    final RecipientResult[] lastResults;
    int unfinished;
    /** A bounce for this message is being committed to the spool. */
    boolean bouncing;

    QueuedRecipients(QueuedMessage message, TransportTable table) {
        this.message = message;
        this.recipients = message.envelope().recipients().toArray(new String[0]);
        int n = recipients.length;
        this.routes = new Route[n];
        this.states = new byte[n];
        this.attempts = new int[n];
        this.retryAtMillis = new long[n];
        this.lastResults = new RecipientResult[n];
        for (int i = 0; i < n; i++) {
            routes[i] = table.route(recipients[i]);
        }
        this.unfinished = n;
    }

    boolean isDue(int i, long nowMillis) {
        return states[i] == WAITING && retryAtMillis[i] <= nowMillis;
    }

    /** The last results of the failed recipients, in envelope order. */
    List<RecipientResult> failures() {
        List<RecipientResult> out = new ArrayList<>();
        for (int i = 0; i < recipients.length; i++) {
            if (states[i] == FAILED) {
                out.add(lastResults[i]);
            }
        }
        return out;
    }

    /** The next attempt time of the earliest waiting recipient, or Long.MAX_VALUE. */
    long nextRetryMillis() {
        long next = Long.MAX_VALUE;
        for (int i = 0; i < recipients.length; i++) {
            if (states[i] == WAITING) {
                next = Math.min(next, retryAtMillis[i]);
            }
        }
        return next;
    }
}
