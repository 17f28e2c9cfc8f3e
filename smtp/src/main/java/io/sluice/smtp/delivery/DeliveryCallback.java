package io.sluice.smtp.delivery;

/**
 * Where a {@link Transport} reports the outcome of a {@link DeliveryJob}: exactly one
 * {@link #completed} per recipient of the job, from any thread, in any order. A recipient never
 * reported by the attempt timeout ({@code delivery.attempt_timeout}) is deferred, and a later
 * report for it is ignored. Thread-safe and non-blocking.
 */
public interface DeliveryCallback {
    /** One recipient's result; the recipient must be one of the job's. */
    void completed(RecipientResult result);

    /**
     * Names the next hop the attempt talks to, for the delivery log's {@code relay=} field, in
     * Postfix's form {@code mx.example.com[192.0.2.1]:25}; call before the results it covers. A
     * transport that never calls it is logged with its route. Any thread.
     */
    default void relay(String nextHop) {
    }
}
