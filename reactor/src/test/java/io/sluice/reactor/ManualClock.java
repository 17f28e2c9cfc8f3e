package io.sluice.reactor;

/** A clock the test advances by hand; single-threaded use (the thread driving doWork()). */
final class ManualClock implements NanoClock {

    private long nowNanos = 1_000_000_000L;

    @Override
    public long nanoTime() {
        return nowNanos;
    }

    void advance(long nanos) {
        nowNanos += nanos;
    }
}
