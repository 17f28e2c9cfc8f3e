package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;

/** A message store in memory whose commits complete only when the test says so. */
final class RecordingStore implements MessageStore {

    private long next = 1;
    final Map<QueueId, ByteArrayOutputStream> open = new LinkedHashMap<>();
    final Map<QueueId, Envelope> envelopes = new LinkedHashMap<>();
    final Map<QueueId, String> committed = new LinkedHashMap<>();
    final List<QueueId> aborted = new ArrayList<>();
    private final List<Runnable> pendingCommits = new ArrayList<>();
    boolean failAppends;
    boolean failCommits;
    /** begin throws IllegalArgumentException, as SpoolAppender does for an envelope over its limit. */
    boolean refuseEnvelopes;
    /** What {@link #stalled} answers (a hanging spool fsync). */
    boolean stalled;

    @Override
    public boolean stalled() {
        return stalled;
    }

    @Override
    public QueueId begin(Envelope envelope) {
        if (refuseEnvelopes) {
            throw new IllegalArgumentException("envelope octets > MAX_BEGIN_PAYLOAD_BYTES");
        }
        QueueId id = QueueId.of(next++);
        open.put(id, new ByteArrayOutputStream());
        envelopes.put(id, envelope);
        return id;
    }

    @Override
    public void append(QueueId id, ByteBuffer data) throws IOException {
        if (failAppends) {
            throw new IOException("No space left on device");
        }
        ByteArrayOutputStream out = open.get(id);
        while (data.hasRemaining()) {
            out.write(data.get());
        }
    }

    @Override
    public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) {
        ByteArrayOutputStream out = open.remove(id);
        pendingCommits.add(() -> executor.execute(() -> {
            if (failCommits) {
                listener.failed(id, new IOException("fsync failed"));
            } else {
                committed.put(id, out.toString(StandardCharsets.ISO_8859_1));
                listener.committed(id);
            }
        }));
    }

    @Override
    public void abort(QueueId id) {
        open.remove(id);
        envelopes.remove(id);
        aborted.add(id);
    }

    /** Makes every pending commit durable (or failed), answering through the executor. */
    void completeCommits() {
        List<Runnable> now = new ArrayList<>(pendingCommits);
        pendingCommits.clear();
        now.forEach(Runnable::run);
    }

    int pendingCommits() {
        return pendingCommits.size();
    }

    /** The only committed message's text without our Received: line. */
    String onlyBody() {
        if (committed.size() != 1) {
            throw new AssertionError("committed messages: " + committed.keySet());
        }
        String text = committed.values().iterator().next();
        int end = text.indexOf("\r\n", text.indexOf("; ")) + 2;
        return text.substring(end);
    }
}
