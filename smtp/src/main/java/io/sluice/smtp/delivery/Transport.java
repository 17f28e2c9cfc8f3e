package io.sluice.smtp.delivery;

/**
 * One way of handing mail on (maildir, discard, error, later the SMTP/LMTP client): the seam the
 * queue manager delivers through. The queue manager calls {@link #deliver} on its own thread for
 * a non-blocking transport (which must return at once and may report later from any thread), and
 * on one of its delivery worker threads for a {@link #blocking()} one (which may do disk I/O).
 * Never on an event loop. Implementations are shared by all jobs of a route: thread-safe.
 */
public interface Transport {

    /**
     * Starts delivering the job; reports one {@link RecipientResult} per recipient to the
     * callback. An exception thrown here defers every recipient not yet reported.
     */
    void deliver(DeliveryJob job, DeliveryCallback callback);

    /** True when {@link #deliver} blocks (disk I/O), so it must run on a delivery worker. */
    default boolean blocking() {
        return false;
    }
}
