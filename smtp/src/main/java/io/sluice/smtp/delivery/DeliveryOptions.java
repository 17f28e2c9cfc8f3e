package io.sluice.smtp.delivery;

import java.time.Duration;
import java.util.List;

import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * The queue manager's settings. Immutable; any thread.
 *
 * @param hostname           our name: bounces come from MAILER-DAEMON@hostname
 * @param concurrency        attempts in flight at once per destination (route)
 * @param retrySchedule      waits before the 1st, 2nd... retry; the last repeats
 * @param maxQueueTime       a recipient still deferred at this message age is bounced
 * @param attemptTimeout     time a transport has to report an attempt's results
 * @param workers            threads for blocking transports
 */
public record DeliveryOptions(String hostname, int concurrency, List<Duration> retrySchedule, Duration maxQueueTime,
                              Duration attemptTimeout, int workers) {

    /** Validates and copies. */
    public DeliveryOptions {
        retrySchedule = List.copyOf(retrySchedule);
        if (retrySchedule.isEmpty()) {
            throw new IllegalArgumentException("retrySchedule is empty");
        }
        if (concurrency < 1 || workers < 1) {
            throw new IllegalArgumentException("concurrency=" + concurrency + ", workers=" + workers + ": both >= 1");
        }
    }

    /** From the {@code delivery.*} keys. */
    public static DeliveryOptions fromConfig(SluiceConfig config) {
        return new DeliveryOptions(config.get(ConfigKeys.HOSTNAME), config.get(ConfigKeys.DELIVERY_CONCURRENCY),
                config.get(ConfigKeys.DELIVERY_RETRY_SCHEDULE), config.get(ConfigKeys.DELIVERY_MAX_QUEUE_TIME),
                config.get(ConfigKeys.DELIVERY_ATTEMPT_TIMEOUT), config.get(ConfigKeys.DELIVERY_WORKERS));
    }

    /** The wait after the {@code attempts}-th failed attempt (1-based), in milliseconds. */
    long retryDelayMillis(int attempts) {
        return retrySchedule.get(Math.min(Math.max(attempts, 1), retrySchedule.size()) - 1).toMillis();
    }
}
