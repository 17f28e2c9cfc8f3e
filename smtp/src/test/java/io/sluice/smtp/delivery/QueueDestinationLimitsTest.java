package io.sluice.smtp.delivery;

import static io.sluice.smtp.delivery.QueueBench.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.SluiceConfig;

/** Per-destination rate and concurrency limits, overrides, and isolation of a dead destination. */
class QueueDestinationLimitsTest {
    private static final Map<String, String> ROUTES = Map.of("slow.example", "lmtp:[127.0.0.1]:24",
            "*", "lmtp:[127.0.0.2]:24");

    @TempDir
    Path dir;

    private QueueBench bench;
    private final ScriptedTransport slow = new ScriptedTransport();
    private final ScriptedTransport fast = new ScriptedTransport();

    @BeforeEach
    void open() throws IOException {
        bench = new QueueBench(dir.resolve("spool"));
    }

    @AfterEach
    void close() throws IOException {
        bench.close();
    }

    private QueueManager start(DeliveryOptions options) {
        return bench.start(options, ROUTES, route -> route.target().equals("127.0.0.1") ? slow : fast);
    }

    @Test
    void theRateLimitStartsAtMostRatePerSecondAfterABurstOfOneSecond() throws Exception {
        for (int i = 0; i < 6; i++) {
            bench.enqueue("s@example.org", "u" + i + "@any.example");
        }
        start(QueueBench.options(20, Duration.ofMinutes(5), Duration.ZERO, 2, Map.of(), Map.of()));
        bench.settle();
        assertEquals(2, fast.jobs.size(), "a burst of one second's worth (2)");
        bench.clock.set(T0 + 499);
        bench.settle();
        assertEquals(2, fast.jobs.size(), "no token before 500 ms");
        bench.clock.set(T0 + 500);
        bench.drive(() -> fast.jobs.size() == 3, "one token every 500 ms");
        bench.settle();
        assertEquals(3, fast.jobs.size());
        bench.clock.set(T0 + 1500);
        bench.drive(() -> fast.jobs.size() == 5, "two more after another second");
        bench.settle();
        assertEquals(5, fast.jobs.size(), "never more than the bucket holds");
        bench.clock.set(T0 + 2000);
        bench.drive(() -> bench.spool.list().isEmpty(), "all delivered");
    }

    @Test
    void aRateOverrideLimitsOnlyItsDestination() throws Exception {
        for (int i = 0; i < 4; i++) {
            bench.enqueue("s@example.org", "u" + i + "@slow.example");
            bench.enqueue("s@example.org", "u" + i + "@fast.example");
        }
        start(QueueBench.options(20, Duration.ofMinutes(5), Duration.ZERO, 0, Map.of(),
                Map.of("127.0.0.1", 1)));
        bench.drive(() -> fast.jobs.size() == 4, "the unlimited destination takes all at once");
        bench.settle();
        assertEquals(1, slow.jobs.size(), "one per second to 127.0.0.1");
        bench.clock.set(T0 + 1000);
        bench.drive(() -> slow.jobs.size() == 2, "the next second's token");
    }

    @Test
    void aConcurrencyOverrideLimitsOnlyItsDestination() throws Exception {
        slow.script = null; // hold every job
        fast.script = null;
        for (int i = 0; i < 5; i++) {
            bench.enqueue("s@example.org", "u" + i + "@slow.example");
            bench.enqueue("s@example.org", "u" + i + "@fast.example");
        }
        start(QueueBench.options(3, Duration.ofMinutes(5), Duration.ZERO, 0, Map.of("127.0.0.1", 1), Map.of()));
        bench.settle();
        assertEquals(1, slow.jobs.size(), "override: 1 in flight");
        assertEquals(3, fast.jobs.size(), "default: 3 in flight");
    }

    @Test
    void aDestinationThatNeverAnswersFillsOnlyItsOwnQueue() throws Exception {
        slow.script = null; // takes every job and never reports
        for (int i = 0; i < 40; i++) {
            bench.enqueue("s@example.org", "u" + i + "@slow.example");
        }
        for (int i = 0; i < 40; i++) {
            bench.enqueue("s@example.org", "u" + i + "@fast.example");
        }
        QueueManager q = start(QueueBench.options(4, Duration.ofMinutes(5), Duration.ZERO, 0, Map.of(), Map.of()));
        bench.drive(() -> q.delivered() == 40, "every message to the live destination");
        bench.settle();
        assertEquals(4, slow.jobs.size(), "the dead one holds only its concurrency");
        assertEquals(40, bench.spool.list().size(), "its own messages wait in its own queue");
        assertEquals(40, q.control(QueueControl.STATUS).stream().filter(l -> l.contains("\tpending\t")).count());
    }

    @Test
    void overridesComeFromPatternKeys() {
        SluiceConfig config = SluiceConfig.load(null, Map.of("delivery.rate", "10", "delivery.rate.gmail.com", "2",
                "delivery.concurrency.gmail.com", "3", "delivery.delay_warning", "0s"));
        DeliveryOptions o = DeliveryOptions.fromConfig(config);
        Route gmail = new Route(Route.Kind.SMTP_MX, "gmail.com", 25, "");
        Route other = new Route(Route.Kind.SMTP_MX, "example.com", 25, "");
        assertEquals(2, o.rateFor(gmail));
        assertEquals(3, o.concurrencyFor(gmail));
        assertEquals(10, o.rateFor(other));
        assertEquals(20, o.concurrencyFor(other));
        assertEquals(Duration.ZERO, o.delayWarning());
        assertEquals(Duration.ofHours(4), DeliveryOptions.fromConfig(SluiceConfig.defaults()).delayWarning());
        assertTrue(badValue("delivery.rate.gmail.com", "fast").contains("delivery.rate.gmail.com"));
        assertTrue(badValue("delivery.concurrency.gmail.com", "0").contains("delivery.concurrency.gmail.com"));
    }

    private static String badValue(String key, String value) {
        try {
            DeliveryOptions.fromConfig(SluiceConfig.load(null, Map.of(key, value)));
            return "accepted";
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }
}
