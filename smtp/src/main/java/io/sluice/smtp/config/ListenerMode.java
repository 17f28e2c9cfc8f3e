package io.sluice.smtp.config;

/** What a listening socket speaks: plain SMTP (port 25), implicit TLS (465), or submission (587). */
public enum ListenerMode {
    /** Plain SMTP; STARTTLS offered according to {@code tls.level}. */
    SMTP,
    /** Implicit TLS from the first byte (RFC 8314). */
    SMTPS,
    /** Message submission (RFC 6409); STARTTLS offered according to {@code tls.level}. */
    SUBMISSION
}
