package io.sluice.smtp.crash;

/**
 * Which incarnation of the server under test is serving, on which port, shared between the
 * harness (which marks it up after each start and down just before each kill) and the load
 * clients (which wait here for the next incarnation after their connection died). Thread-safe
 * (monitor; waits are bounded).
 */
final class ServerLife {

    /** A serving incarnation: its epoch (1, 2, ...) and port. */
    record Target(int epoch, int port) {
    }

    private int epoch;
    private int port;
    private boolean up;
    private boolean stopped;

    /** Harness: incarnation {@code epoch} now answers on {@code port}. */
    synchronized void up(int epoch, int port) {
        this.epoch = epoch;
        this.port = port;
        this.up = true;
        notifyAll();
    }

    /** Harness: the server is about to be killed (clients failing from now on know why). */
    synchronized void down() {
        up = false;
    }

    /** Harness: no more incarnations; waiting clients return {@code null}. */
    synchronized void stop() {
        stopped = true;
        notifyAll();
    }

    synchronized boolean stopped() {
        return stopped;
    }

    /** True when incarnation {@code epoch} is still marked up (a failure then was not a kill). */
    synchronized boolean isUp(int epoch) {
        return up && this.epoch == epoch;
    }

    /**
     * Waits until some incarnation is up, at most {@code timeoutMillis}.
     *
     * @return it, or {@code null} when stopped or on timeout
     */
    synchronized Target awaitUp(long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (!up && !stopped) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            wait(left);
        }
        return stopped ? null : new Target(epoch, port);
    }
}
