package io.sluice.smtp.config;

/**
 * Outbound STARTTLS policy ({@code tls.client.level}, {@code tls.client.policy.<domain>}), named as
 * Postfix names its levels. Ordered from weakest to strictest.
 */
public enum ClientTlsLevel {
    /** Never STARTTLS. */
    NONE,
    /** STARTTLS when offered, any certificate; plaintext when absent, refused (454) or after a failed handshake. */
    MAY,
    /** TLS or defer: nothing is sent in plaintext; any certificate. */
    ENCRYPT,
    /** ENCRYPT, and the chain verifies and names the next-hop host (SNI is that name). */
    VERIFY
}
