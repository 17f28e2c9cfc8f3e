package io.sluice.smtp.mtasts;

import java.util.Locale;

/** How one policy fetch ended: the label of {@code sluice_outbound_mta_sts_fetches_total}. */
public enum FetchResult {
    /** 200, text/plain, a valid policy. */
    OK,
    /** A 3xx: redirects are never followed (RFC 8461 §3.3). */
    REDIRECT,
    /** Any other status than 200 and 3xx. */
    HTTP_STATUS,
    /** A 200 whose Content-Type is not text/plain, or an unreadable HTTP response. */
    BAD_RESPONSE,
    /** A body over {@link StsPolicy#MAX_BODY_OCTETS}. */
    TOO_LARGE,
    /** The body is not a valid policy. */
    BAD_POLICY,
    /** {@code mta-sts.<domain>} has no address, or its lookup failed. */
    NO_ADDRESS,
    /** The handshake failed, or the certificate does not verify or name {@code mta-sts.<domain>}. */
    TLS,
    /** Connect, handshake and read took longer than the fetch timeout. */
    TIMEOUT,
    /** Any other I/O failure (refused, reset). */
    IO,
    /** Not fetched: {@link MtaStsPolicies#MAX_QUEUED_FETCHES} fetches were already waiting for a thread. */
    QUEUE_FULL;

    /** The metric label: lower case. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
