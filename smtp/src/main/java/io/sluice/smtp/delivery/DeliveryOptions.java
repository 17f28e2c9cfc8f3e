package io.sluice.smtp.delivery;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.PatternKey;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.config.ValueType;
import io.sluice.smtp.config.ValueTypes;

/**
 * The queue manager's settings. Immutable; any thread.
 *
 * @param hostname             our name: bounces come from MAILER-DAEMON@hostname
 * @param concurrency          attempts in flight at once per destination (route)
 * @param retrySchedule        waits before the 1st, 2nd... retry; the last repeats
 * @param maxQueueTime         a recipient still deferred at this message age is bounced
 * @param attemptTimeout       time a transport has to report an attempt's results
 * @param workers              threads for blocking transports
 * @param ratePerSecond        attempts (messages) started per second per destination; 0 = unlimited
 * @param delayWarning         message age at which a deferred message's sender is told once; zero = never
 * @param concurrencyOverrides {@code concurrency} by destination name ({@link #destinationName})
 * @param rateOverrides        {@code ratePerSecond} by destination name
 * @param bounceSizeLimitOctets largest original a RET=FULL bounce carries whole (else its headers)
 */
public record DeliveryOptions(String hostname, int concurrency, List<Duration> retrySchedule, Duration maxQueueTime,
                              Duration attemptTimeout, int workers, int ratePerSecond, Duration delayWarning,
                              Map<String, Integer> concurrencyOverrides, Map<String, Integer> rateOverrides,
                              long bounceSizeLimitOctets) {
    /** Postfix's bounce_size_limit default. */
    public static final long DEFAULT_BOUNCE_SIZE_LIMIT_OCTETS = 50_000;
    /** Most {@link #bounceSizeLimitOctets} may be: the queue thread reads a RET=FULL original into memory. */
    public static final long MAX_BOUNCE_SIZE_LIMIT_OCTETS = 10L << 20;

    /** Validates and copies. */
    public DeliveryOptions {
        retrySchedule = List.copyOf(retrySchedule);
        concurrencyOverrides = Map.copyOf(concurrencyOverrides);
        rateOverrides = Map.copyOf(rateOverrides);
        if (bounceSizeLimitOctets < 0 || bounceSizeLimitOctets > MAX_BOUNCE_SIZE_LIMIT_OCTETS) {
            throw new IllegalArgumentException("bounceSizeLimitOctets=" + bounceSizeLimitOctets + " not in [0, "
                    + MAX_BOUNCE_SIZE_LIMIT_OCTETS + "]");
        }
        if (retrySchedule.isEmpty()) {
            throw new IllegalArgumentException("retrySchedule is empty");
        }
        if (concurrency < 1 || workers < 1 || ratePerSecond < 0) {
            throw new IllegalArgumentException("concurrency=" + concurrency + ", workers=" + workers
                    + ", ratePerSecond=" + ratePerSecond + ": concurrency and workers >= 1, rate >= 0");
        }
        for (int c : concurrencyOverrides.values()) {
            if (c < 1) {
                throw new IllegalArgumentException("concurrency override " + c + " < 1");
            }
        }
    }

    /** With the default bounce size limit. */
    public DeliveryOptions(String hostname, int concurrency, List<Duration> retrySchedule, Duration maxQueueTime,
            Duration attemptTimeout, int workers, int ratePerSecond, Duration delayWarning,
            Map<String, Integer> concurrencyOverrides, Map<String, Integer> rateOverrides) {
        this(hostname, concurrency, retrySchedule, maxQueueTime, attemptTimeout, workers, ratePerSecond, delayWarning,
                concurrencyOverrides, rateOverrides, DEFAULT_BOUNCE_SIZE_LIMIT_OCTETS);
    }

    /** These options with another {@link #bounceSizeLimitOctets}. */
    public DeliveryOptions withBounceSizeLimit(long octets) {
        return new DeliveryOptions(hostname, concurrency, retrySchedule, maxQueueTime, attemptTimeout, workers,
                ratePerSecond, delayWarning, concurrencyOverrides, rateOverrides, octets);
    }

    /** No rate limit, no delay warnings, no overrides. */
    public DeliveryOptions(String hostname, int concurrency, List<Duration> retrySchedule, Duration maxQueueTime,
            Duration attemptTimeout, int workers) {
        this(hostname, concurrency, retrySchedule, maxQueueTime, attemptTimeout, workers, 0, Duration.ZERO,
                Map.of(), Map.of());
    }

    /**
     * From the {@code delivery.*} keys.
     *
     * @throws ConfigException naming a bad {@code delivery.concurrency.<destination>} or
     *     {@code delivery.rate.<destination>} value
     */
    public static DeliveryOptions fromConfig(SluiceConfig config) {
        return new DeliveryOptions(config.get(ConfigKeys.HOSTNAME), config.get(ConfigKeys.DELIVERY_CONCURRENCY),
                config.get(ConfigKeys.DELIVERY_RETRY_SCHEDULE), config.get(ConfigKeys.DELIVERY_MAX_QUEUE_TIME),
                config.get(ConfigKeys.DELIVERY_ATTEMPT_TIMEOUT), config.get(ConfigKeys.DELIVERY_WORKERS),
                config.get(ConfigKeys.DELIVERY_RATE), config.get(ConfigKeys.DELIVERY_DELAY_WARNING),
                overrides(config, ConfigKeys.DELIVERY_CONCURRENCY_FOR, ValueTypes.integer(1, 10_000)),
                overrides(config, ConfigKeys.DELIVERY_RATE_FOR, ValueTypes.integer(0, 1_000_000)),
                config.get(ConfigKeys.DELIVERY_BOUNCE_SIZE_LIMIT));
    }

    private static Map<String, Integer> overrides(SluiceConfig config, PatternKey pattern, ValueType<Integer> type) {
        Map<String, Integer> out = new TreeMap<>();
        config.patternValues(pattern).forEach((name, text) -> {
            try {
                out.put(name, type.parse(text));
            } catch (IllegalArgumentException e) {
                throw ConfigException.badValue(pattern.keyFor(name), text, e.getMessage());
            }
        });
        return out;
    }

    /**
     * The name the per-destination overrides use for a route: the next-hop host or MX domain of
     * an SMTP or LMTP route; the route's text for local routes (which have no host).
     */
    static String destinationName(Route route) {
        switch (route.kind()) {
            case LMTP:
            case SMTP_HOST:
            case SMTP_MX:
                return route.target();
            default:
                return route.toString();
        }
    }

    /** The concurrency limit of a destination. */
    int concurrencyFor(Route route) {
        return concurrencyOverrides.getOrDefault(destinationName(route), concurrency);
    }

    /** The rate limit of a destination (messages per second, 0 = unlimited). */
    int rateFor(Route route) {
        return rateOverrides.getOrDefault(destinationName(route), ratePerSecond);
    }

    /** The wait after the {@code attempts}-th failed attempt (1-based), in milliseconds. */
    long retryDelayMillis(int attempts) {
        return retrySchedule.get(Math.min(Math.max(attempts, 1), retrySchedule.size()) - 1).toMillis();
    }
}
