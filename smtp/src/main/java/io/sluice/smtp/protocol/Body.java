package io.sluice.smtp.protocol;

/**
 * The MAIL FROM {@code BODY=} parameter (RFC 6152 8BITMIME, RFC 3030 BINARYMIME); {@link #NONE} when
 * the client sent none. Immutable, usable from any thread.
 */
public enum Body {
    NONE, SEVEN_BIT, EIGHT_BIT_MIME, BINARY_MIME
}
