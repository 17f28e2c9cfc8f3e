package io.sluice.smtp.delivery;

import java.util.ArrayDeque;

/**
 * One route's delivery queue: its transport, its limits (attempts in flight, attempts started
 * per second as a token bucket), the attempts in flight and the messages with recipients ready
 * for it. A slow or dead destination fills only its own queue. Confined to the queue thread.
 */
final class Destination {
    final Route route;
    final Transport transport;
    final int concurrency;
    final int ratePerSecond;
    /** Messages with READY recipients for this destination; a message may appear twice (harmless). */
    final ArrayDeque<QueuedRecipients> ready = new ArrayDeque<>();
    int inFlight;
    /** In the queue manager's runnable list. */
    boolean runnable;
    /** A timer will make it runnable when the bucket has a token again. */
    boolean waitingForToken;
    private double tokens;
    private long refilledMillis;

    Destination(Route route, Transport transport, int concurrency, int ratePerSecond, long nowMillis) {
        this.route = route;
        this.transport = transport;
        this.concurrency = concurrency;
        this.ratePerSecond = ratePerSecond;
        this.tokens = burst();
        this.refilledMillis = nowMillis;
    }

    /** One second's worth of attempts, at least one. */
    private double burst() {
        return Math.max(1, ratePerSecond);
    }

    boolean hasSlot() {
        return inFlight < concurrency;
    }

    /** Takes a token if the rate allows an attempt now (always, without a rate limit). */
    boolean tryTake(long nowMillis) {
        if (ratePerSecond == 0) {
            return true;
        }
        refill(nowMillis);
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** When the next token will be there (epoch ms), after a failed {@link #tryTake}. */
    long nextTokenMillis(long nowMillis) {
        refill(nowMillis);
        return nowMillis + Math.max(1, (long) Math.ceil((1 - tokens) * 1000.0 / ratePerSecond));
    }

    private void refill(long nowMillis) {
        if (nowMillis > refilledMillis) {
            tokens = Math.min(burst(), tokens + (nowMillis - refilledMillis) * ratePerSecond / 1000.0);
            refilledMillis = nowMillis;
        }
    }
}
