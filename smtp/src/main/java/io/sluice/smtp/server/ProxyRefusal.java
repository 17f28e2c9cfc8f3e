package io.sluice.smtp.server;

import java.util.Locale;

/**
 * Why a {@code +proxy} listener closed a connection before its PROXY header was read: unanswered,
 * because the peer is the load balancer, not an SMTP client. A metrics label.
 */
public enum ProxyRefusal {
    /** The peer is not in {@code proxy.networks}: its header would not be believed. */
    UNTRUSTED,
    /** Not a PROXY v1 or v2 header, or an invalid one. */
    MALFORMED,
    /** Longer than a header may be (107 octets for v1, 2048 for v2). */
    TOO_LONG,
    /** No whole header within {@code proxy.header_timeout}. */
    TIMEOUT,
    /**
     * {@code limits.connections} was reached while the peer was still to send its header: a waiting
     * connection counts in the total (not per client: the peer is the balancer).
     */
    LIMIT,
    /** The peer closed after part of a header (one that closes before any byte is a health check). */
    NO_HEADER;

    /** The label value: lower case. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
