package io.sluice.smtp.metrics;

import io.sluice.smtp.server.SmtpServer;
import io.sluice.smtp.spool.Spool;

/**
 * Whether the server can take mail: every configured listener is accepting and (in
 * {@code serve} mode) the spool is writable. Cheap enough for a load balancer to ask every
 * second: a few volatile reads and one {@code statvfs}. Any thread.
 */
public final class HealthCheck {

    private final SmtpServer server;

    public HealthCheck(SmtpServer server) {
        this.server = server;
    }

    /** {@code null} when healthy, else a one-line reason such as {@code listeners: 2 of 3 accepting}. */
    public String unhealthyReason() {
        int expected = server.boundAddresses().size();
        int accepting = server.acceptor().listening();
        if (accepting < expected) {
            return "listeners: " + accepting + " of " + expected + " accepting";
        }
        Spool spool = server.spool();
        return spool == null ? null : spool.unhealthyReason();
    }
}
