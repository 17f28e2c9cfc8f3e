package io.sluice.smtp.protocol;

/**
 * Every fixed reply the server sends, encoded once at class initialisation. Immutable; any thread
 * may write these. Replies that embed configuration (greeting, EHLO capabilities, queue id) are
 * built at config time with {@link Reply#of} and {@link Reply#multiline}.
 */
public final class Replies {
    private Replies() {
    }

    // ---- 2xx / 3xx: success and intermediate ----

    /** 220 2.0.0: answer to STARTTLS just before the TLS handshake (RFC 3207). */
    public static final Reply READY_FOR_TLS = Reply.of(220, "2.0.0", "Ready to start TLS");
    /** 221 2.0.0: answer to QUIT; the session closes after writing it. */
    public static final Reply BYE = Reply.of(221, "2.0.0", "Bye");
    /** 250 2.0.0: generic success (HELO, RSET, NOOP, a non-last BDAT chunk). */
    public static final Reply OK = Reply.of(250, "2.0.0", "Ok");
    /** 250 2.1.0: MAIL FROM accepted. */
    public static final Reply MAIL_OK = Reply.of(250, "2.1.0", "Ok");
    /** 250 2.1.5: RCPT TO accepted. */
    public static final Reply RCPT_OK = Reply.of(250, "2.1.5", "Ok");
    /** 250 2.0.0: message durably queued (used when no queue id is echoed). */
    public static final Reply QUEUED = Reply.of(250, "2.0.0", "Ok: queued");
    /** 252 2.5.0: VRFY is never answered truthfully (RFC 5321 3.5.3). */
    public static final Reply CANNOT_VRFY = Reply.of(252, "2.5.0", "Cannot VRFY user, but will accept message");
    /** 214 2.0.0: HELP text. */
    public static final Reply HELP = Reply.of(214, "2.0.0",
            "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS");
    /** 354: go ahead with DATA (no enhanced code: RFC 2034 defines them for 2xx/4xx/5xx only). */
    public static final Reply START_DATA = Reply.of(354, null, "End data with <CR><LF>.<CR><LF>");

    // ---- 421: closing the connection ----

    /** 421 4.4.2: idle or command timeout; the session closes after writing it. */
    public static final Reply TIMEOUT = Reply.of(421, "4.4.2", "Timeout exceeded - closing connection");
    /** 421 4.7.0: the client made too many errors; the session closes after writing it. */
    public static final Reply TOO_MANY_ERRORS = Reply.of(421, "4.7.0", "Too many errors");
    /** 421 4.7.0: connection limit reached (global or per client); written then closed. */
    public static final Reply TOO_MANY_CONNECTIONS = Reply.of(421, "4.7.0", "Too many connections");
    /** 421 4.3.2: the server is shutting down; written then closed. */
    public static final Reply SHUTTING_DOWN = Reply.of(421, "4.3.2", "Service shutting down");
    /** 421 4.7.0: the client opened too many connections in the last minute; written then closed. */
    public static final Reply CONNECTION_RATE = Reply.of(421, "4.7.0", "Too many connections per minute, try again later");
    /** 421 4.7.0: the client started too many messages in the last minute; written then closed. */
    public static final Reply MESSAGE_RATE = Reply.of(421, "4.7.0", "Too many messages per minute, try again later");

    // ---- other 4xx: transient ----

    /** 451 4.3.0: local failure (spool error, internal exception); the client retries. */
    public static final Reply LOCAL_ERROR = Reply.of(451, "4.3.0", "Local error in processing");
    /** 452 4.3.1: spool full or backpressure; the client retries. */
    public static final Reply INSUFFICIENT_STORAGE = Reply.of(452, "4.3.1", "Insufficient system storage");
    /** 452 4.5.3: recipient limit per transaction reached (RFC 5321 4.5.3.1.8). */
    public static final Reply TOO_MANY_RECIPIENTS = Reply.of(452, "4.5.3", "Too many recipients");
    /** 454 4.7.0: STARTTLS offered but TLS could not be set up (no certificate, engine failure). */
    public static final Reply TLS_NOT_AVAILABLE = Reply.of(454, "4.7.0", "TLS not available");

    // ---- 500/501/502/503/504: command syntax and sequence ----

    /** 500 5.5.1: unknown verb (also an empty line). */
    public static final Reply COMMAND_UNRECOGNIZED = Reply.of(500, "5.5.1", "Command unrecognized");
    /** 500 5.5.1: the line started with an HTTP method; the session closes after writing it. */
    public static final Reply HTTP_NOT_SERVED = Reply.of(500, "5.5.1", "HTTP requests not served here");
    /** 500 5.5.2: command line longer than the limit (512 octets incl. CRLF, RFC 5321 4.5.3.1.4). */
    public static final Reply LINE_TOO_LONG = Reply.of(500, "5.5.2", "Line too long");
    /** 500 5.5.2: a bare CR or bare LF inside a command line (lines end with CRLF only). */
    public static final Reply BARE_NEWLINE_IN_COMMAND = Reply.of(500, "5.5.2", "Syntax error: bare CR or LF");
    /** 501 5.5.2: NUL, another control octet or DEL inside a command line. */
    public static final Reply CONTROL_CHARACTER = Reply.of(501, "5.5.2", "Syntax error: control character in command");
    /** 501 5.5.4: generic bad arguments (malformed SIZE= or BODY= value, repeated parameter). */
    public static final Reply SYNTAX_ERROR_PARAMETERS = Reply.of(501, "5.5.4", "Syntax error in parameters or arguments");
    /** 501 5.5.4: DATA, RSET, QUIT or STARTTLS sent with an argument ({@link Command#hasArgument()}). */
    public static final Reply NO_PARAMETERS_ALLOWED = Reply.of(501, "5.5.4", "Syntax error: no parameters allowed");
    /** 501 5.5.4: VRFY or EXPN without its argument. */
    public static final Reply ARGUMENT_REQUIRED = Reply.of(501, "5.5.4", "Syntax error: argument required");
    /** 501 5.5.4: EHLO without hostname. */
    public static final Reply EHLO_SYNTAX = Reply.of(501, "5.5.4", "Syntax: EHLO hostname");
    /** 501 5.5.4: HELO without hostname. */
    public static final Reply HELO_SYNTAX = Reply.of(501, "5.5.4", "Syntax: HELO hostname");
    /** 501 5.5.4: EHLO/HELO argument that is not a domain or address literal (or could inject a header). */
    public static final Reply BAD_HELO_HOSTNAME = Reply.of(501, "5.5.4", "Invalid EHLO/HELO hostname");
    /** 501 5.5.4: MAIL not followed by {@code FROM:<path>}. */
    public static final Reply MAIL_SYNTAX = Reply.of(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    /** 501 5.5.4: RCPT not followed by {@code TO:<path>}. */
    public static final Reply RCPT_SYNTAX = Reply.of(501, "5.5.4", "Syntax: RCPT TO:<address>");
    /** 501 5.5.4: BDAT size missing, not digits, or too large for a long; or trailing garbage. */
    public static final Reply BDAT_SYNTAX = Reply.of(501, "5.5.4", "Syntax: BDAT size [LAST]");
    /** 501 5.5.4: a MAIL or RCPT parameter given twice (RFC 3461 4: each DSN parameter at most once). */
    public static final Reply DUPLICATE_PARAMETER = Reply.of(501, "5.5.4", "Syntax error: parameter given twice");
    /** 501 5.5.4: RET= neither FULL nor HDRS (RFC 3461 4.3). */
    public static final Reply RET_SYNTAX = Reply.of(501, "5.5.4", "Syntax: RET=FULL or RET=HDRS");
    /** 501 5.5.4: ENVID= not xtext, not printable once decoded, or over 100 characters (RFC 3461 4.4). */
    public static final Reply ENVID_SYNTAX = Reply.of(501, "5.5.4",
            "Syntax: ENVID=xtext of at most 100 printable characters");
    /** 501 5.5.4: NOTIFY= with an unknown or repeated keyword, or NEVER with another (RFC 3461 4.1). */
    public static final Reply NOTIFY_SYNTAX = Reply.of(501, "5.5.4",
            "Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (any of them, each once)");
    /** 501 5.5.4: ORCPT= not addr-type;xtext or its address over 500 characters (RFC 3461 4.2). */
    public static final Reply ORCPT_SYNTAX = Reply.of(501, "5.5.4",
            "Syntax: ORCPT=addr-type;xtext of at most 500 printable characters");
    /** 501 5.1.7: reverse-path syntax, including a local part over 64, domain over 255 or path over 256 octets. */
    public static final Reply BAD_SENDER_ADDRESS = Reply.of(501, "5.1.7", "Bad sender address syntax");
    /** 501 5.1.3: forward-path syntax, including a local part over 64, domain over 255 or path over 256 octets. */
    public static final Reply BAD_RECIPIENT_ADDRESS = Reply.of(501, "5.1.3", "Bad recipient address syntax");
    /** 502 5.5.1: EXPN is never answered (mailing-list harvesting). */
    public static final Reply EXPN_NOT_SUPPORTED = Reply.of(502, "5.5.1", "EXPN not supported");
    /** 502 5.5.1: AUTH is not offered on this listener. */
    public static final Reply AUTH_NOT_AVAILABLE = Reply.of(502, "5.5.1", "AUTH not available");
    /** 503 5.5.1: command out of sequence (generic). */
    public static final Reply BAD_SEQUENCE = Reply.of(503, "5.5.1", "Bad sequence of commands");
    /** 503 5.5.1: MAIL, RCPT, DATA or BDAT before EHLO/HELO. */
    public static final Reply NEED_HELO = Reply.of(503, "5.5.1", "Error: send HELO/EHLO first");
    /** 503 5.5.1: RCPT, DATA or BDAT without a MAIL transaction. */
    public static final Reply NEED_MAIL = Reply.of(503, "5.5.1", "Error: need MAIL command");
    /** 503 5.5.1: DATA or BDAT without an accepted RCPT. */
    public static final Reply NEED_RCPT = Reply.of(503, "5.5.1", "Error: need RCPT command");
    /** 503 5.5.1: MAIL inside a transaction. */
    public static final Reply NESTED_MAIL = Reply.of(503, "5.5.1", "Error: nested MAIL command");
    /** 503 5.5.1: DATA after {@code BODY=BINARYMIME} (RFC 3030 3: BDAT only). */
    public static final Reply BINARYMIME_NEEDS_BDAT = Reply.of(503, "5.5.1", "BINARYMIME requires BDAT");

    // ---- other 5xx: permanent ----

    /** 530 5.7.0: a command other than EHLO/HELO/STARTTLS/NOOP/RSET/QUIT before TLS where TLS is required. */
    public static final Reply STARTTLS_REQUIRED = Reply.of(530, "5.7.0", "Must issue a STARTTLS command first");
    /** 550 5.6.0: bare CR or LF in message data under {@link BareNewline#REJECT}. */
    public static final Reply BARE_NEWLINE_IN_DATA = Reply.of(550, "5.6.0", "Message contains bare CR or LF");
    /** 500 5.5.2: a text line of the message exceeded 1000 octets incl. CRLF (RFC 5321 4.5.3.1.6). */
    public static final Reply DATA_LINE_TOO_LONG = Reply.of(500, "5.5.2", "Line too long in message data");
    /** 552 5.3.4: declared SIZE or received message over the size limit (RFC 1870). */
    public static final Reply MESSAGE_TOO_LARGE = Reply.of(552, "5.3.4", "Message size exceeds fixed limit");
    /**
     * 554 5.4.6: the message carries more {@code Received:} fields than {@code smtp.max_hops}, after end
     * of data (RFC 5321 6.3 mail loop; RFC 3463 X.4.6 routing loop detected; Postfix's hopcount_limit).
     */
    public static final Reply TOO_MANY_HOPS = Reply.of(554, "5.4.6", "Too many hops (mail forwarding loop)");
    /** 553 5.6.7: non-ASCII address without the SMTPUTF8 parameter (RFC 6531 3.4). */
    public static final Reply SMTPUTF8_REQUIRED = Reply.of(553, "5.6.7", "SMTPUTF8 required");
    /**
     * 550 5.7.1: recipient domain is not ours and the client may not relay. 550, not Postfix's 554:
     * RFC 5321 4.3.2 lists 550 (policy refusal) but never 554 among the replies to RCPT.
     */
    public static final Reply RELAY_DENIED = Reply.of(550, "5.7.1", "Relay access denied");
    /** 554 5.5.1: STARTTLS sent on a connection that already has TLS. */
    public static final Reply ALREADY_TLS = Reply.of(554, "5.5.1", "Already in TLS");
    /** 554 5.5.1: DATA or BDAT after every RCPT was refused. */
    public static final Reply NO_VALID_RECIPIENTS = Reply.of(554, "5.5.1", "Error: no valid recipients");
    /** 555 5.5.4: MAIL or RCPT parameter this server does not implement (RFC 5321 4.1.1.11). */
    public static final Reply UNSUPPORTED_PARAMETER = Reply.of(555, "5.5.4", "Unsupported parameter");

    // ---- AUTH (RFC 4954) ----

    /** 235 2.7.0: the credentials were right; the client may now relay. */
    public static final Reply AUTH_SUCCEEDED = Reply.of(235, "2.7.0", "Authentication successful");
    /** 334: PLAIN without an initial response; the client sends it next. */
    public static final Reply AUTH_CONTINUE = Reply.challenge("");
    /** 334 "Username:": the first LOGIN prompt. */
    public static final Reply AUTH_USERNAME = Reply.challenge("VXNlcm5hbWU6");
    /** 334 "Password:": the second LOGIN prompt. */
    public static final Reply AUTH_PASSWORD = Reply.challenge("UGFzc3dvcmQ6");
    /** 454 4.7.0: the password check could not run now (its workers are saturated). */
    public static final Reply AUTH_TEMPORARY_FAILURE = Reply.of(454, "4.7.0", "Temporary authentication failure");
    /** 501 5.7.0: the client sent "*" to give up the exchange. */
    public static final Reply AUTH_CANCELLED = Reply.of(501, "5.7.0", "Authentication cancelled");
    /** 501 5.5.2: a SASL response that is not base64 or not of the mechanism's form. */
    public static final Reply AUTH_BAD_RESPONSE = Reply.of(501, "5.5.2", "Cannot decode response");
    /** 503 5.5.1: AUTH after a successful AUTH. */
    public static final Reply ALREADY_AUTHENTICATED = Reply.of(503, "5.5.1", "Already authenticated");
    /** 503 5.5.1: AUTH inside a mail transaction (RFC 4954 4). */
    public static final Reply AUTH_IN_TRANSACTION = Reply.of(503, "5.5.1", "AUTH not allowed during a mail transaction");
    /** 504 5.5.4: a mechanism we do not offer. */
    public static final Reply AUTH_MECHANISM_UNKNOWN = Reply.of(504, "5.5.4", "Unrecognized authentication type");
    /** 535 5.7.8: wrong user name or password. */
    public static final Reply AUTH_FAILED = Reply.of(535, "5.7.8", "Authentication credentials invalid");
    /** 538 5.7.11: AUTH before TLS: we never take a password in the clear. */
    public static final Reply AUTH_NEEDS_TLS = Reply.of(538, "5.7.11", "Encryption required for requested authentication mechanism");
}
