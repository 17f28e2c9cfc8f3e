package io.sluice.smtp.spool;

/**
 * Told of every group-commit batch, on the spool writer thread right after its fsyncs and before
 * its callbacks (so metrics can keep a distribution without the writer knowing any metrics
 * library). Must be quick and must not throw; it runs off the session loops.
 */
@FunctionalInterface
public interface CommitBatchObserver {

    /** Observes nothing. */
    CommitBatchObserver NONE = (requests, fsyncNanos) -> { };

    /**
     * @param requests   commit requests the batch answered (committed and failed)
     * @param fsyncNanos time spent in the batch's segment and directory fsyncs
     */
    void batchCommitted(int requests, long fsyncNanos);
}
