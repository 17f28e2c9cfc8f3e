package io.sluice.smtp.server;

import java.util.EnumMap;
import java.util.Map;
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
    final ReplyCodeCounts rejectedMessagesByCode = new ReplyCodeCounts();
    final TlsSessionCounts tlsSessions = new TlsSessionCounts();
    private final LongAdder[] rejectionsByReason = new LongAdder[ConnectionRejection.values().length];
    private final LongAdder[] proxyRefusals = new LongAdder[ProxyRefusal.values().length];
    /** PROXY headers read, by version (1, 2) and whether they named a client: [version - 1][proxied ? 1 : 0]. */
    private final LongAdder[][] proxyHeaders = {{new LongAdder(), new LongAdder()}, {new LongAdder(), new LongAdder()}};

    /** Balancers' health checks on +proxy listeners: [0] closed before any byte, [1] LOCAL/UNKNOWN and no command. */
    private final LongAdder[] proxyHealthChecks = {new LongAdder(), new LongAdder()};

    public SessionStats() {
        for (int i = 0; i < rejectionsByReason.length; i++) {
            rejectionsByReason[i] = new LongAdder();
        }
        for (int i = 0; i < proxyRefusals.length; i++) {
            proxyRefusals[i] = new LongAdder();
        }
    }

    /** Counts a connection a {@code +proxy} listener closed before or at its header. */
    void refuseProxy(ProxyRefusal reason) {
        proxyRefusals[reason.ordinal()].increment();
        rejectConnection(ConnectionRejection.PROXY);
    }

    /** Counts a PROXY header read: v1 or v2, naming a client ({@code proxied}) or not (LOCAL, UNKNOWN). */
    void proxyHeader(int version, boolean proxied) {
        proxyHeaders[version - 1][proxied ? 1 : 0].increment();
    }

    /** Counts a balancer's health check: a close before any byte, or ({@code local}) a LOCAL header and no mail (see SmtpSession). */
    void proxyHealthCheck(boolean local) {
        proxyHealthChecks[local ? 1 : 0].increment();
    }

    /**
     * Health checks seen on {@code +proxy} listeners: connections closed (or reset) before any byte,
     * or ({@code local}) after a LOCAL/UNKNOWN header, a session the balancer ended without MAIL,
     * AUTH or error (HELO then QUIT: HAProxy's smtpchk). Not counted as refusals.
     */
    public long proxyHealthChecks(boolean local) {
        return proxyHealthChecks[local ? 1 : 0].sum();
    }

    /** Connections a {@code +proxy} listener closed before or at the header, per reason. */
    public Map<ProxyRefusal, Long> proxyRefusals() {
        EnumMap<ProxyRefusal, Long> out = new EnumMap<>(ProxyRefusal.class);
        for (ProxyRefusal r : ProxyRefusal.values()) {
            out.put(r, proxyRefusals[r.ordinal()].sum());
        }
        return out;
    }

    /**
     * PROXY headers read of {@code version} (1 or 2) that named a client ({@code proxied}), or that
     * kept the balancer's address (v2 LOCAL, v1 UNKNOWN, AF_UNSPEC or AF_UNIX).
     */
    public long proxyHeaders(int version, boolean proxied) {
        return proxyHeaders[version - 1][proxied ? 1 : 0].sum();
    }

    /** Counts a connection turned away ({@link #rejectedConnections()} too, except for too many errors). */
    void rejectConnection(ConnectionRejection reason) {
        rejectionsByReason[reason.ordinal()].increment();
        if (reason != ConnectionRejection.TOO_MANY_ERRORS) {
            rejectedConnections.increment();
        }
    }

    /** Counts a message refused with {@code replyCode} (after DATA/BDAT, or its commit failed). */
    void rejectMessage(int replyCode) {
        rejectedMessages.increment();
        rejectedMessagesByCode.increment(replyCode);
    }

    /** Counts a completed TLS handshake of a session. */
    void tlsHandshake(String protocol, String cipher) {
        tlsHandshakes.increment();
        tlsSessions.increment(protocol, cipher);
    }

    /** Connections turned away, per reason. */
    public Map<ConnectionRejection, Long> rejectionsByReason() {
        EnumMap<ConnectionRejection, Long> out = new EnumMap<>(ConnectionRejection.class);
        for (ConnectionRejection r : ConnectionRejection.values()) {
            out.put(r, rejectionsByReason[r.ordinal()].sum());
        }
        return out;
    }

    /** Messages refused, per reply code. */
    public ReplyCodeCounts rejectedMessagesByCode() {
        return rejectedMessagesByCode;
    }

    /** Completed TLS handshakes of sessions, per protocol and cipher suite. */
    public TlsSessionCounts tlsSessions() {
        return tlsSessions;
    }

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
