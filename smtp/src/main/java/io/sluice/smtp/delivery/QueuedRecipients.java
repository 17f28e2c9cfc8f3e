package io.sluice.smtp.delivery;

import java.util.ArrayList;
import java.util.List;

import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;

/**
 * The queue manager's state of one message: per recipient its destination, state, attempt count,
 * next attempt time and last result, in parallel arrays (one object per message, not per
 * recipient). Kept compact because a million of them may be queued: the recipients are read from
 * the envelope, the destinations are shared, and the retry arrays exist only once a recipient
 * was tried. Confined to the queue thread.
 */
final class QueuedRecipients {
    /** Waiting for its next attempt ({@code retryAtMillis}), or new (due at once). */
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
    final Destination[] destinations;
    final byte[] states;
    /** Null until the first result: attempts per recipient. */
    int[] attempts;
    /** Null until the first result: next attempt (epoch ms) of a waiting recipient. */
    long[] retryAtMillis;
    /** Null until the first result. */
    RecipientResult[] lastResults;
    int unfinished;
    /** A bounce for this message is being committed to the spool. */
    boolean bouncing;
    /** The delay notification is durable (or being committed: {@link #delaySending}). */
    boolean delayNotified;
    boolean delaySending;
    /** The success report (NOTIFY=SUCCESS) is durable, or none is due; set once every recipient is final. */
    boolean successNotified;

    QueuedRecipients(QueuedMessage message, Destination[] destinations) {
        this.message = message;
        this.destinations = destinations;
        this.states = new byte[destinations.length];
        this.unfinished = destinations.length;
    }

    String recipient(int i) {
        return message.envelope().recipients().get(i);
    }

    int size() {
        return states.length;
    }

    int attempts(int i) {
        return attempts == null ? 0 : attempts[i];
    }

    long retryAtMillis(int i) {
        return retryAtMillis == null ? 0 : retryAtMillis[i];
    }

    RecipientResult lastResult(int i) {
        return lastResults == null ? null : lastResults[i];
    }

    /** Allocates the retry arrays on the first result. */
    void tried() {
        if (attempts == null) {
            attempts = new int[states.length];
            retryAtMillis = new long[states.length];
            lastResults = new RecipientResult[states.length];
        }
    }

    boolean isDue(int i, long nowMillis) {
        return states[i] == WAITING && retryAtMillis(i) <= nowMillis;
    }

    boolean isFinal(int i) {
        return states[i] == DELIVERED || states[i] == FAILED;
    }

    /** What {@code sluice queue} shows: pending, deferred, delivered or failed. */
    String stateWord(int i) {
        switch (states[i]) {
            case DELIVERED:
                return "delivered";
            case FAILED:
                return "failed";
            default:
                return attempts(i) > 0 ? "deferred" : "pending";
        }
    }

    /** The last results of the failed recipients, in envelope order. */
    List<RecipientResult> failures() {
        return resultsIn(FAILED);
    }

    /** The recipient's DSN parameters (RFC 3461), {@link RecipientDsn#NONE} when it had none. */
    RecipientDsn dsn(int i) {
        return message.envelope().dsn().recipient(i);
    }

    /** The failures whose sender asked for a bounce (NOTIFY absent or with FAILURE), in envelope order. */
    List<DeliveryStatusReport.Row> failuresToReport() {
        List<DeliveryStatusReport.Row> out = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            if (states[i] == FAILED && dsn(i).notifyFailure()) {
                out.add(new DeliveryStatusReport.Row(i, lastResults[i]));
            }
        }
        return out;
    }

    /** The deferrals whose sender wants to hear of delays (NOTIFY absent or with DELAY), in envelope order. */
    List<DeliveryStatusReport.Row> delaysToReport() {
        List<DeliveryStatusReport.Row> out = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            if (!isFinal(i) && lastResult(i) != null && dsn(i).notifyDelay()) {
                out.add(new DeliveryStatusReport.Row(i, lastResults[i]));
            }
        }
        return out;
    }

    /** Whether some recipient not yet final could still be named in a delay notice. */
    boolean mayReportDelay() {
        for (int i = 0; i < states.length; i++) {
            if (!isFinal(i) && dsn(i).notifyDelay()) {
                return true;
            }
        }
        return false;
    }

    /** The last results of the recipients tried and not final (deferred), in envelope order. */
    List<RecipientResult> deferrals() {
        List<RecipientResult> out = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            if (!isFinal(i) && lastResult(i) != null) {
                out.add(lastResults[i]);
            }
        }
        return out;
    }

    private List<RecipientResult> resultsIn(byte state) {
        List<RecipientResult> out = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            if (states[i] == state) {
                out.add(lastResults[i]);
            }
        }
        return out;
    }

    /**
     * Queues in {@code journal} the records a restart needs to rebuild this state: each recipient's
     * last result (final, or deferred with its next attempt) and the delay notice. Recipients never
     * tried have none. Queue thread, for a rewrite of the journal.
     */
    void writeStateTo(RecipientJournal journal, long nowMillis) {
        long id = message.id().value();
        for (int i = 0; lastResults != null && i < states.length; i++) {
            RecipientResult last = lastResults[i];
            if (last == null) {
                continue;
            }
            if (isFinal(i)) {
                journal.recordFinal(id, i, attempts[i], last, nowMillis);
            } else {
                journal.recordDeferred(id, i, attempts[i], last, retryAtMillis[i]);
            }
        }
        if (delayNotified) {
            journal.recordDelayNotified(id, nowMillis);
        }
        if (successNotified) {
            journal.recordSuccessNotified(id, nowMillis);
        }
    }

    /** The next attempt time of the earliest waiting recipient, or Long.MAX_VALUE. */
    long nextRetryMillis() {
        long next = Long.MAX_VALUE;
        for (int i = 0; i < states.length; i++) {
            if (states[i] == WAITING) {
                next = Math.min(next, retryAtMillis(i));
            }
        }
        return next;
    }
}
