package io.sluice.smtp.delivery;

/**
 * Stands in for the outbound SMTP/LMTP client until it exists: defers every recipient with
 * {@code 451 4.4.0}, so mail for {@code smtp:} and {@code lmtp:} routes stays queued and is
 * retried (and bounced after {@code delivery.max_queue_time}), never dropped. Stateless; any thread.
 */
public final class UnbuiltClientTransport implements Transport {
    private final String protocol;

    /** @param protocol {@code SMTP} or {@code LMTP}, for the text */
    public UnbuiltClientTransport(String protocol) {
        this.protocol = protocol;
    }

    @Override
    public void deliver(DeliveryJob job, DeliveryCallback callback) {
        for (String recipient : job.recipients()) {
            callback.completed(RecipientResult.deferred(recipient, "4.4.0", "outbound " + protocol + " not built yet"));
        }
    }

    @Override
    public String toString() {
        return "unbuilt " + protocol + " client";
    }
}
