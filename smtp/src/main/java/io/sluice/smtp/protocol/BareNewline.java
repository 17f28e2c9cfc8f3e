package io.sluice.smtp.protocol;

/**
 * What {@link DataDecoder} does with a bare LF or bare CR in message data. Both policies decode the
 * same octets (bare LF stored as CRLF, bare CR kept as data) and neither ever lets a bare line ending
 * end the message; they differ only in what the session answers after end of data:
 * {@link #NORMALIZE} (default, as Postfix) accepts, {@link #REJECT} answers
 * {@link Replies#BARE_NEWLINE_IN_DATA} when {@link DataDecoder#bareNewlineSeen()}.
 */
public enum BareNewline {
    NORMALIZE, REJECT
}
