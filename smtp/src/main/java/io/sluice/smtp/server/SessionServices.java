package io.sluice.smtp.server;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

import io.sluice.reactor.NanoClock;
import io.sluice.smtp.proxy.ProxyHeaderParser;

/**
 * What the sessions of one event loop share: the loop's clock and executor, its message store,
 * its scratch buffer for decoded message text, and the list of its open sessions (for a graceful
 * shutdown). Confined to that loop's thread: the server reaches it through tasks on the loop.
 */
public final class SessionServices {

    /** Decoded DATA goes through this buffer on its way from the read buffer to the store. */
    static final int SCRATCH_OCTETS = 64 * 1024;

    /** Runs a task on the loop at a deadline of the loop's clock. */
    @FunctionalInterface
    public interface Scheduler {
        void schedule(long deadlineNanos, Runnable task);
    }

    private final NanoClock clock;
    private final Executor executor;
    private final Scheduler scheduler;
    private final MessageStore store;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH_OCTETS);
    /** Keeps no state between parses, so the loop's sessions share it; made at the first PROXY header. */
    private ProxyHeaderParser proxyParser;
    /** Open sessions, an intrusive list through the sessions' own links: no node per connection. */
    private SmtpSession first;
    private int open;
    private boolean shuttingDown;

    public SessionServices(NanoClock clock, Executor executor, Scheduler scheduler, MessageStore store) {
        this.clock = clock;
        this.executor = executor;
        this.scheduler = scheduler;
        this.store = store;
    }

    NanoClock clock() {
        return clock;
    }

    Executor executor() {
        return executor;
    }

    Scheduler scheduler() {
        return scheduler;
    }

    MessageStore store() {
        return store;
    }

    ByteBuffer scratch() {
        return scratch;
    }

    ProxyHeaderParser proxyParser() {
        if (proxyParser == null) {
            proxyParser = new ProxyHeaderParser();
        }
        return proxyParser;
    }

    /** True once {@link #beginShutdown()} ran: new commands outside a transaction get 421 4.3.2. */
    boolean shuttingDown() {
        return shuttingDown;
    }

    void add(SmtpSession session) {
        session.nextOnLoop = first;
        session.previousOnLoop = null;
        if (first != null) {
            first.previousOnLoop = session;
        }
        first = session;
        open++;
    }

    void remove(SmtpSession session) {
        if (session.previousOnLoop != null) {
            session.previousOnLoop.nextOnLoop = session.nextOnLoop;
        } else if (first == session) {
            first = session.nextOnLoop;
        } else {
            return; // never added, or removed already
        }
        if (session.nextOnLoop != null) {
            session.nextOnLoop.previousOnLoop = session.previousOnLoop;
        }
        session.nextOnLoop = null;
        session.previousOnLoop = null;
        open--;
    }

    /** Sessions open on this loop. */
    public int openSessions() {
        return open;
    }

    /**
     * Starts a graceful shutdown on this loop: from now on a session answers its next command
     * outside a transaction with 421 4.3.2 and closes; transactions in flight go on.
     */
    public void beginShutdown() {
        shuttingDown = true;
    }

    /** Sessions in the middle of a transaction (after MAIL, in DATA or BDAT, or waiting for the spool). */
    public int sessionsInTransaction() {
        int busy = 0;
        for (SmtpSession s = first; s != null; s = s.nextOnLoop) {
            if (s.inTransaction()) {
                busy++;
            }
        }
        return busy;
    }

    /** The end of the grace period: every session still open is told 421 4.3.2 and closed. */
    public void closeAllSessions() {
        shuttingDown = true;
        SmtpSession s = first;
        while (s != null) {
            SmtpSession next = s.nextOnLoop; // closing may unlink s
            s.shutDownNow();
            s = next;
        }
    }
}
