package io.sluice.smtp.config;

/**
 * What the DATA decoder does with a bare LF or bare CR in message content ({@code smtp.bare_newline}).
 * Either way a bare newline never ends a message (SMTP smuggling).
 */
public enum BareNewlinePolicy {
    /** Store it as CRLF. */
    NORMALIZE,
    /** Refuse the message with 550 after the final dot. */
    REJECT
}
