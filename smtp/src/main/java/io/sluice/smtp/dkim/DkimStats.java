package io.sluice.smtp.dkim;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of the signer since start: signatures made, signatures reused for another attempt of
 * the same message, signatures that failed, messages left unsigned because they carry our
 * signature already, came from an outside client or do not have exactly one From: mailbox.
 * Updated by delivery workers, read from any thread.
 */
public final class DkimStats {
    private final AtomicLong signed = new AtomicLong();
    private final AtomicLong reused = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong alreadySigned = new AtomicLong();
    private final AtomicLong untrusted = new AtomicLong();
    private final AtomicLong ambiguousFrom = new AtomicLong();

    void signed() {
        signed.incrementAndGet();
    }

    void reused() {
        reused.incrementAndGet();
    }

    void failed() {
        failed.incrementAndGet();
    }

    void alreadySigned() {
        alreadySigned.incrementAndGet();
    }

    void untrusted() {
        untrusted.incrementAndGet();
    }

    void ambiguousFrom() {
        ambiguousFrom.incrementAndGet();
    }

    /**
     * Messages with a signing domain's From: that have two From: fields or a From: with several
     * mailboxes (RFC 5322 §3.6 wants one author): not signed.
     */
    public long ambiguousFromCount() {
        return ambiguousFrom.get();
    }

    /** Messages with a signing domain's From: that an outside client (not relay.networks, no AUTH) sent: not signed. */
    public long untrustedCount() {
        return untrusted.get();
    }

    /** Signatures computed (each one private-key operation). */
    public long signedCount() {
        return signed.get();
    }

    /** Attempts that sent a signature computed by another attempt of the same message (earlier, or at once and awaited). */
    public long reusedCount() {
        return reused.get();
    }

    /** Attempts that should have been signed but whose signing threw, here or in the attempt they waited for (deferred). */
    public long failedCount() {
        return failed.get();
    }

    /** Messages that already carried a signature with our d= and s= (sent as they are). */
    public long alreadySignedCount() {
        return alreadySigned.get();
    }
}
