package io.sluice.bench.load;

/** How a load session uses TLS; an immutable constant, any thread. */
public enum TlsMode {
    /** Plaintext SMTP only. */
    NONE,
    /** Plaintext greeting and EHLO, then STARTTLS (RFC 3207) and EHLO again inside TLS. */
    STARTTLS,
    /** TLS from the first byte (submissions port 465, RFC 8314). */
    IMPLICIT
}
