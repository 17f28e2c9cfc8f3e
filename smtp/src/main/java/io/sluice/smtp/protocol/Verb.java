package io.sluice.smtp.protocol;

/**
 * The command verbs {@link CommandParser} recognises. {@link #HTTP} marks a line that starts with an
 * HTTP method followed by a space (a browser or a proxy-abuse probe): the session answers
 * {@link Replies#HTTP_NOT_SERVED} and closes. {@link #UNKNOWN} is anything else, including lines
 * too long or too broken to read a verb from. Immutable, usable from any thread.
 */
public enum Verb {
    EHLO, HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS, AUTH, HTTP, UNKNOWN
}
