package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;

/**
 * {@code sluice sink}'s store: counts what it is given and keeps nothing, answering every commit
 * at once, so the sink measures the protocol path alone (like Postfix's smtp-sink). On the way it
 * reads each message's header section for a load generator's send stamp and records the
 * end-to-end latency ({@link EndToEndLatency}). Loop thread only.
 */
final class DiscardStore implements MessageStore {

    private final int loopIndex;
    private final EndToEndLatency latency;
    private final SentStampScanner stamps = new SentStampScanner();
    /** Epoch microseconds minus nanoTime/1000: a microsecond wall clock without an Instant per message. */
    private final long epochMicrosOffset = EndToEndLatency.epochMicrosMinusNanoMicros();
    private long counter;

    DiscardStore(int loopIndex, EndToEndLatency latency) {
        this.loopIndex = loopIndex;
        this.latency = latency;
    }

    /** Ids are unique per run: time, loop and a counter, in the spool's layout. */
    @Override
    public QueueId begin(Envelope envelope) {
        long millis = System.currentTimeMillis();
        long count = counter++ & ((1L << QueueId.COUNTER_BITS) - 1);
        QueueId id = QueueId.of((millis << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS)) | (count << QueueId.LOOP_BITS) | loopIndex);
        stamps.begin(id.value());
        return id;
    }

    @Override
    public void append(QueueId id, ByteBuffer data) {
        stamps.scan(id.value(), data);
        data.position(data.limit());
    }

    @Override
    public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) {
        latency.record(loopIndex, stamps.finish(id.value()), System.nanoTime() / 1000 + epochMicrosOffset);
        listener.durable(id);
        listener.committed(id);
    }

    @Override
    public void abort(QueueId id) {
        stamps.finish(id.value());
    }

    @Override
    public boolean keepsContent() {
        return false;
    }
}
