package io.sluice.smtp.config;

/** Server TLS policy for plain listeners ({@code tls.level}). */
public enum TlsLevel {
    /** STARTTLS is not offered. */
    NONE,
    /** STARTTLS is offered; clients may go on in plain text. */
    MAY,
    /** STARTTLS is offered and required before MAIL (530 otherwise). */
    ENCRYPT
}
