package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;

/**
 * {@code sluice sink}'s store: counts what it is given and keeps nothing, answering every commit
 * at once, so the sink measures the protocol path alone (like Postfix's smtp-sink). Loop thread only.
 */
final class DiscardStore implements MessageStore {

    private final int loopIndex;
    private long counter;

    DiscardStore(int loopIndex) {
        this.loopIndex = loopIndex;
    }

    /** Ids are unique per run: time, loop and a counter, in the spool's layout. */
    @Override
    public QueueId begin(Envelope envelope) {
        long millis = System.currentTimeMillis();
        long count = counter++ & ((1L << QueueId.COUNTER_BITS) - 1);
        return QueueId.of((millis << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS)) | (count << QueueId.LOOP_BITS) | loopIndex);
    }

    @Override
    public void append(QueueId id, ByteBuffer data) {
        data.position(data.limit());
    }

    @Override
    public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) {
        listener.committed(id);
    }

    @Override
    public void abort(QueueId id) {
    }

    @Override
    public boolean keepsContent() {
        return false;
    }
}
