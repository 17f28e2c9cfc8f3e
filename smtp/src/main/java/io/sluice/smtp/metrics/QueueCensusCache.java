package io.sluice.smtp.metrics;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.sluice.smtp.delivery.QueueCensus;
import io.sluice.smtp.delivery.QueueManager;

/**
 * The queue census for one scrape: asked of the queue thread at most once per
 * {@link #MAX_AGE_NANOS}, so the two queue metrics of one scrape share one count. A scrape
 * waits at most {@link #TIMEOUT_MILLIS} for the queue thread; if it is busier than that the last
 * census is served again. Scrape threads only (synchronized: never on a mail path).
 */
final class QueueCensusCache {

    static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final long TIMEOUT_MILLIS = 2_000;

    private final QueueManager queue;
    private final int topDestinations;
    private QueueCensus last = new QueueCensus(0, java.util.Map.of());
    private long lastNanos = Long.MIN_VALUE;

    QueueCensusCache(QueueManager queue, int topDestinations) {
        this.queue = queue;
        this.topDestinations = topDestinations;
    }

    synchronized QueueCensus current() {
        long now = System.nanoTime();
        if (lastNanos != Long.MIN_VALUE && now - lastNanos < MAX_AGE_NANOS) {
            return last;
        }
        try {
            last = queue.census(topDestinations).get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            lastNanos = now;
        } catch (TimeoutException | ExecutionException e) {
            // Serve the previous census; the next scrape asks again.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return last;
    }
}
