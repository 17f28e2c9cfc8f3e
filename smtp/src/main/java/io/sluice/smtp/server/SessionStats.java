package io.sluice.smtp.server;

import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * Server-wide session counters, written from every loop with {@link LongAdder}s (no contention
 * on a shared cache line) and read for reports.
 */
public final class SessionStats {

    final LongAdder connections = new LongAdder();
    final LongAdder rejectedConnections = new LongAdder();
    final LongAdder messages = new LongAdder();
    final LongAdder messageOctets = new LongAdder();
    final LongAdder rejectedMessages = new LongAdder();
    final LongAdder tlsHandshakes = new LongAdder();
    final LongAdder tlsFailures = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    /** Written only when one session's own peak grows, so not once per reply. */
    final LongAccumulator peakPendingWriteBytes = new LongAccumulator(Math::max, 0);

    public long connections() {
        return connections.sum();
    }

    public long rejectedConnections() {
        return rejectedConnections.sum();
    }

    public long messages() {
        return messages.sum();
    }

    public long messageOctets() {
        return messageOctets.sum();
    }

    public long rejectedMessages() {
        return rejectedMessages.sum();
    }

    public long tlsHandshakes() {
        return tlsHandshakes.sum();
    }

    public long tlsFailures() {
        return tlsFailures.sum();
    }

    public long timeouts() {
        return timeouts.sum();
    }

    /** The most bytes any one session has had queued for its client at once since start. */
    public long peakPendingWriteBytes() {
        return peakPendingWriteBytes.get();
    }
}
