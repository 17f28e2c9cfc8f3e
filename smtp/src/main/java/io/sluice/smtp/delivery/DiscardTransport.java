package io.sluice.smtp.delivery;

/** Accepts every recipient and drops the message ({@code transport.x = discard}). Stateless; any thread. */
public final class DiscardTransport implements Transport {

    @Override
    public void deliver(DeliveryJob job, DeliveryCallback callback) {
        for (String recipient : job.recipients()) {
            callback.completed(RecipientResult.delivered(recipient, "Discarded by configuration"));
        }
    }

    @Override
    public String toString() {
        return "discard";
    }
}
