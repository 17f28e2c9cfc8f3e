package io.sluice.smtp.client;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of the outbound client since start: connections opened and reused, messages carried
 * (and how many with BDAT), TLS handshakes completed, possible downgrades, SMTP AUTH outcomes. Updated from the loops, read from any thread.
 */
public final class ClientStats {
    private final AtomicLong connectionsOpened = new AtomicLong();
    private final AtomicLong connectionsReused = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong chunkedMessages = new AtomicLong();
    private final AtomicLong tlsHandshakes = new AtomicLong();
    private final AtomicLong downgrades = new AtomicLong();
    private final AtomicLong authSucceeded = new AtomicLong();
    private final AtomicLong authFailed = new AtomicLong();

    void connectionOpened() {
        connectionsOpened.incrementAndGet();
    }

    void connectionReused() {
        connectionsReused.incrementAndGet();
    }

    void messageSent() {
        messages.incrementAndGet();
    }

    void messageChunked() {
        chunkedMessages.incrementAndGet();
    }

    void tlsCompleted() {
        tlsHandshakes.incrementAndGet();
    }

    void downgrade() {
        downgrades.incrementAndGet();
    }

    void authOk() {
        authSucceeded.incrementAndGet();
    }

    void authRefused() {
        authFailed.incrementAndGet();
    }

    /** Connections that authenticated (235). */
    public long authSucceeded() {
        return authSucceeded.get();
    }

    /** Connections whose AUTH was refused or impossible (no mechanism of ours offered). */
    public long authFailed() {
        return authFailed.get();
    }

    /** TCP connections that opened (connected). */
    public long connectionsOpened() {
        return connectionsOpened.get();
    }

    /** Messages started on a connection that had carried one before. */
    public long connectionsReused() {
        return connectionsReused.get();
    }

    /** Transactions finished (whatever their recipients' outcome). */
    public long messages() {
        return messages.get();
    }

    /** Transactions that sent their content with BDAT (CHUNKING) instead of DATA. */
    public long chunkedMessages() {
        return chunkedMessages.get();
    }

    /** Completed STARTTLS handshakes. */
    public long tlsHandshakes() {
        return tlsHandshakes.get();
    }

    /** Hosts under {@code may} with TLS memory that answered without TLS (possible downgrade). */
    public long downgrades() {
        return downgrades.get();
    }
}
