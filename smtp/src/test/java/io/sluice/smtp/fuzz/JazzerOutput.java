package io.sluice.smtp.fuzz;

import com.code_intelligence.jazzer.utils.Log;

/**
 * Pins Jazzer's log to the process's real stdout and stderr. Once a fuzz test has installed the
 * Jazzer agent, the agent logs a line for every class it instruments, and it writes to whatever
 * System.err is at that moment: tests that later capture System.err (the CLI tests) would read
 * Jazzer's lines as their own output. Every fuzz test class calls {@link #pin()} when it is set up;
 * test threads only.
 */
public final class JazzerOutput {
    private static boolean pinned;

    private JazzerOutput() {
    }

    /** Idempotent; call from a fuzz test class's static initializer. */
    public static synchronized void pin() {
        if (!pinned) {
            pinned = true;
            Log.fixOutErr(System.out, System.err);
        }
    }
}
