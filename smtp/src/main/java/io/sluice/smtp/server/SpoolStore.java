package io.sluice.smtp.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.SpoolAppender;

/** {@code sluice serve}'s store: one loop's appender on the durable spool. Loop thread only. */
final class SpoolStore implements MessageStore {

    private final SpoolAppender appender;
    private final EventLog log;

    SpoolStore(SpoolAppender appender, EventLog log) {
        this.appender = appender;
        this.log = log;
    }

    @Override
    public QueueId begin(Envelope envelope) throws IOException {
        return appender.begin(envelope);
    }

    @Override
    public void append(QueueId id, ByteBuffer data) throws IOException {
        appender.append(id, data);
    }

    @Override
    public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) throws IOException {
        appender.commit(id, storedOctets, listener, executor);
    }

    @Override
    public boolean stalled() {
        return appender.commitsStalled();
    }

    /** An abort that cannot be written is harmless: a message without COMMIT is never recovered. */
    @Override
    public void abort(QueueId id) {
        try {
            appender.abort(id);
        } catch (IOException e) {
            log.log(EventLog.Level.WARN, "spool-error", "id", id, "error", e);
        }
    }
}
