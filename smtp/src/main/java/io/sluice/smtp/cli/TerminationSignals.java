package io.sluice.smtp.cli;

import io.sluice.reactor.ProcessSignal;

/**
 * Runs an action on SIGTERM and SIGINT instead of the JVM's default (run the shutdown hooks and
 * exit with 128 + signal), so that {@code sluice serve} can stop gracefully and exit 0 as service
 * managers expect (through {@link ProcessSignal}). The JVM calls the action on its own
 * short-lived signal thread; the action must only hand the stop over.
 */
final class TerminationSignals {

    private TerminationSignals() {
    }

    /**
     * Installs {@code action} for TERM and INT.
     *
     * @return false when the JVM does not allow it ({@code -Xrs}, no {@code sun.misc.Signal}):
     *     the caller must fall back to a shutdown hook
     */
    static boolean install(Runnable action) {
        try {
            ProcessSignal.install("TERM", action, "sluice graceful shutdown");
            ProcessSignal.install("INT", action, "sluice graceful shutdown");
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return false;
        }
    }
}
