package io.sluice.smtp.delivery;

import java.util.ArrayDeque;

/**
 * One route's delivery queue: its transport, the attempts in flight (at most
 * {@code delivery.concurrency}) and the batches waiting for a slot. A slow or dead destination
 * fills only its own queue. Confined to the queue thread.
 */
final class Destination {
    final Route route;
    final Transport transport;
    final ArrayDeque<Batch> ready = new ArrayDeque<>();
    int inFlight;
    /** In the queue manager's runnable list. */
    boolean runnable;

    Destination(Route route, Transport transport) {
        this.route = route;
        this.transport = transport;
    }

    /** Recipients (indexes into the message's arrays) of one message for this destination. */
    record Batch(QueuedRecipients message, int[] indexes) {
    }
}
