package io.sluice.smtp.server;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.sluice.reactor.ProcessSignal;

/**
 * The process's one SIGHUP handler: installed (through {@link ProcessSignal}) when the first
 * listener registers, it calls every registered listener, and gives SIGHUP back to the JVM's
 * previous handler when the last one leaves. One handler for all, so that servers, and the
 * reloaders inside one server, never take SIGHUP from each other, whatever order they close in.
 * Listeners run on the JVM's signal thread and must only hand work over. Any thread.
 */
final class HangupSignal {

    /** Registered listeners; copy-on-write because a signal iterates while a server may be starting. */
    private static final List<Runnable> LISTENERS = new CopyOnWriteArrayList<>();
    /** Guarded by {@code HangupSignal.class}. */
    private static ProcessSignal installed;

    private HangupSignal() {
    }

    /**
     * Adds {@code listener}; installs the handler first if none is.
     *
     * @throws ReflectiveOperationException when this JVM cannot handle SIGHUP ({@code -Xrs}, no
     *     {@code jdk.unsupported}, no SIGHUP on the platform) or the process ignores it ({@code nohup});
     *     nothing is registered then
     */
    static synchronized void register(Runnable listener) throws ReflectiveOperationException {
        if (installed == null) {
            ProcessSignal signal = ProcessSignal.install("HUP", HangupSignal::deliver, "sluice reload on SIGHUP");
            if (signal.ignoredBefore()) {
                signal.restore();
                throw new ReflectiveOperationException("SIGHUP is ignored in this process (started under nohup?)");
            }
            installed = signal;
        }
        LISTENERS.add(listener);
    }

    /** Removes {@code listener}; the last one out restores the previous handler. */
    static synchronized void unregister(Runnable listener) {
        LISTENERS.remove(listener);
        if (LISTENERS.isEmpty() && installed != null) {
            installed.restore();
            installed = null;
        }
    }

    /** True while a handler is installed (a SIGHUP now reaches the listeners, not the JVM's default). */
    static synchronized boolean installed() {
        return installed != null;
    }

    /** What the signal calls; also the tests' way in, without a real signal. */
    static void deliver() {
        for (Runnable listener : LISTENERS) {
            listener.run();
        }
    }
}
