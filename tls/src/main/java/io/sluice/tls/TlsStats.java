package io.sluice.tls;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Handshake counters of one {@link TlsContext}, updated by every loop that drives its engines
 * (striped adders: no contention on the loops) and read from any thread.
 */
public final class TlsStats {

    /** Why a handshake did not complete. */
    public enum Failure {
        /** The peer's first bytes were not a TLS record (plaintext SMTP, HTTP, noise). */
        NOT_TLS,
        /** No common protocol version (e.g. a TLS 1.0-only client). */
        PROTOCOL_VERSION,
        /** No common cipher suite, group or signature scheme. */
        NO_SHARED_CIPHER,
        /** A certificate was rejected (by us as client, or the peer's alert says so). */
        CERTIFICATE,
        /** The peer closed (close_notify, alert or TCP close) before finishing. */
        PEER_CLOSED,
        /** We closed first: handshake deadline, shutdown. */
        ABORTED,
        /** Anything else the engine rejected. */
        OTHER
    }

    private final LongAdder completed = new LongAdder();
    private final EnumMap<Failure, LongAdder> failed = new EnumMap<>(Failure.class);

    TlsStats() {
        for (Failure failure : Failure.values()) {
            failed.put(failure, new LongAdder());
        }
    }

    void completed() {
        completed.increment();
    }

    void failed(Failure failure) {
        failed.get(failure).increment();
    }

    public long handshakesCompleted() {
        return completed.sum();
    }

    public long handshakesFailed(Failure failure) {
        return failed.get(failure).sum();
    }

    public long handshakesFailed() {
        long sum = 0;
        for (LongAdder adder : failed.values()) {
            sum += adder.sum();
        }
        return sum;
    }

    /** A copy of the failure counts, for reports. */
    public Map<Failure, Long> failures() {
        EnumMap<Failure, Long> copy = new EnumMap<>(Failure.class);
        failed.forEach((failure, adder) -> copy.put(failure, adder.sum()));
        return copy;
    }

    /** Best-effort classification of an engine exception by its message (providers differ). */
    static Failure classify(Throwable cause) {
        if (cause instanceof NotTlsException) {
            return Failure.NOT_TLS;
        }
        String message = String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT);
        if (message.contains("protocol_version") || message.contains("unsupported_protocol")
                || message.contains("protocol version") || message.contains("no appropriate protocol")
                || message.contains("unsupported protocol")) {
            return Failure.PROTOCOL_VERSION;
        }
        if (message.contains("cipher") || message.contains("handshake_failure")
                || message.contains("no available authentication scheme") || message.contains("no_shared")) {
            return Failure.NO_SHARED_CIPHER;
        }
        if (message.contains("certificate") || message.contains("certpath") || message.contains("pkix")) {
            return Failure.CERTIFICATE;
        }
        return Failure.OTHER;
    }

    @Override
    public String toString() {
        return "TlsStats{completed=" + handshakesCompleted() + ", failed=" + failures() + '}';
    }
}
