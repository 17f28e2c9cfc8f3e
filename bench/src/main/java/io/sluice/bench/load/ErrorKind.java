package io.sluice.bench.load;

/** Why a load session or message failed; counted per kind. Any thread. */
public enum ErrorKind {
    /** The server refused the TCP connection. */
    CONNECT_REFUSED("connect-refused"),
    /** The TCP connection did not complete within the connect timeout. */
    CONNECT_TIMEOUT("connect-timeout"),
    /** A reply (or the TLS handshake) did not arrive within the reply timeout. */
    TIMEOUT("timeout"),
    /** The TLS handshake failed, or STARTTLS was required and not offered. */
    TLS_FAILURE("tls-failure"),
    /** A well-formed reply with a code other than the one the step expects. */
    UNEXPECTED_REPLY("unexpected-reply"),
    /** A malformed reply: bad code digits, mixed codes in a multi-line reply, over-long line. */
    PROTOCOL("protocol"),
    /** {@code --bdat on} and the server's EHLO reply does not offer CHUNKING: the message is not sent. */
    CHUNKING_NOT_OFFERED("chunking-not-offered"),
    /** The server closed the connection in the middle of a session. */
    PEER_CLOSED("peer-closed"),
    /** Any other I/O failure (reset by peer, ...). */
    IO("io");

    private final String label;

    ErrorKind(String label) {
        this.label = label;
    }

    /** The name used in the summary table and the JSON output. */
    public String label() {
        return label;
    }
}
