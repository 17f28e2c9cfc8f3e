package io.sluice.bench.load;

/** A timed part of a load session; each has its own latency histogram. Any thread. */
public enum Phase {
    /** connect() to the socket being connected. */
    CONNECT("connect"),
    /** Connected (or TLS established, with implicit TLS) to the 220 greeting. */
    GREETING("greeting"),
    /** TLS layer installed to handshake complete. */
    TLS_HANDSHAKE("tls-handshake"),
    /** MAIL sent to the 354 reply to DATA; with BDAT, to the reply to the last RCPT. */
    ENVELOPE("envelope"),
    /**
     * Message bytes written to the final 250; with BDAT, the first chunk written to the reply to the
     * last (pipelined, the chunks follow MAIL at once, so this includes the envelope's round trip).
     */
    DATA("data"),
    /** Intended start (open model) or MAIL sent (closed model) to the final 250. */
    MESSAGE("message"),
    /** Connect (or its intended start) to the reply to QUIT. */
    SESSION("session");

    private final String label;

    Phase(String label) {
        this.label = label;
    }

    /** The name used in the summary table and the JSON output. */
    public String label() {
        return label;
    }
}
