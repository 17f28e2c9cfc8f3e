package io.sluice.smtp.server;

/** Why a session turned a client away before or instead of serving it; a metrics label. */
public enum ConnectionRejection {
    /** {@code limits.connections} or {@code limits.connections_per_ip} reached: 421. */
    LIMIT,
    /** The client talked before our greeting ({@code smtp.greet_pause}). */
    PREGREET,
    /** The client spoke HTTP to an SMTP port. */
    HTTP,
    /** More than {@code smtp.max_errors} bad commands: 421. */
    TOO_MANY_ERRORS,
    /** A {@code +proxy} listener closed it before or at the PROXY header (see {@link ProxyRefusal}). */
    PROXY;

    /** The label value: lower case. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
