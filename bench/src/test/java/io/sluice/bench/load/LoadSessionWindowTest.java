package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sluice.reactor.EventLoop;
import io.sluice.reactor.LoopConfig;
import java.util.function.BooleanSupplier;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The end of warm-up, pinned without timing luck: the test thread drives one session's loop with
 * {@code doWork()} on a clock it sets by hand, against {@link TestSmtpServer}. The first message
 * (a warm-up ticket) is on the wire when the clock jumps past the end of warm-up; its reply, the
 * second message (a measured ticket) and the QUIT all happen after. What belongs to warm-up
 * tickets must stay out of the measured figures even when it happens after the boundary; what
 * belongs to measured tickets must be in them, timed from the intended start in the open model.
 */
@Timeout(30)
class LoadSessionWindowTest {

    private static final long MS = 1_000_000L;
    /** Warm-up, and in the open model the interval: ticket 0 is due at 0, ticket 1 at the end of warm-up. */
    private static final long WARMUP_NANOS = MS;
    /** Where the clock jumps while the warm-up message waits for its reply. */
    private static final long LATE_NANOS = WARMUP_NANOS + 7 * MS;

    private long clockNanos;

    @ParameterizedTest(name = "open model {0}")
    @ValueSource(booleans = {false, true})
    void onlyMeasuredTicketsAreInTheMeasuredFiguresWhateverHappensAfterTheBoundary(boolean openModel)
            throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadOptions options = LoadOptions.builder(server.address()).threads(1).connections(1)
                    .messagesPerConnection(2).totalMessages(1).pipelining(false).progress(false)
                    .ratePerSecond(openModel ? 1e9 / WARMUP_NANOS : 0).warmupNanos(WARMUP_NANOS).build();
            MessageSchedule schedule = new MessageSchedule(0, openModel ? WARMUP_NANOS : 0, WARMUP_NANOS, 1, 0);
            RunControl control = new RunControl(-1, 1);
            RunContext run = new RunContext(options, server.address(), schedule,
                    new CommandBytes(options.heloName(), options.sender(), options.rcptDomain(), options.recipients()),
                    new MessageTemplates(options.sizes(), options.sender(),
                            CommandBytes.recipient(0, options.rcptDomain()), 1L),
                    new ClientTls(options), control, 0, 0);
            LoopMetricsByWindow metrics = new LoopMetricsByWindow();
            EventLoop loop = new EventLoop(0, LoopConfig.defaults(), () -> clockNanos);
            try {
                loop.execute(new LoadSession(run, loop, metrics, null, 0)::begin);

                runUntil(loop, () -> metrics.warmup().replies(354) == 1, "the warm-up message's 354");
                clockNanos = LATE_NANOS; // the warm-up message's text is sent, its reply not yet read
                runUntil(loop, () -> control.slotsRunning() == 0, "the slot to finish");
            } finally {
                loop.close();
            }

            assertEquals(2, server.messages.get());
            MetricsReader reader = new MetricsReader(new LoopMetricsByWindow[] {metrics});
            reader.collect();
            assertEquals(1, reader.counter(LoopMetrics.MESSAGES_OK), "the measured ticket alone");
            assertEquals(2, reader.runCounter(LoopMetrics.MESSAGES_OK));
            assertEquals(1024, reader.counter(LoopMetrics.MESSAGE_BYTES));
            for (Phase phase : new Phase[] {Phase.ENVELOPE, Phase.DATA, Phase.MESSAGE}) {
                assertEquals(1, reader.total(phase).getTotalCount(), phase.label());
            }
            // The connection was opened for the warm-up ticket: its own figures are warm-up's,
            // though it ended after the boundary.
            assertEquals(0, reader.counter(LoopMetrics.CONNECTIONS));
            assertEquals(0, reader.counter(LoopMetrics.SESSIONS_OK));
            assertEquals(1, reader.runCounter(LoopMetrics.SESSIONS_OK));
            for (Phase phase : new Phase[] {Phase.CONNECT, Phase.GREETING, Phase.SESSION}) {
                assertEquals(0, reader.total(phase).getTotalCount(), phase.label());
            }
            assertEquals(1, metrics.warmup().replies(220));
            assertEquals(0, metrics.measured().replies(220));
            assertEquals(1, metrics.measured().replies(354));
            assertEquals(1, metrics.warmup().replies(354));

            Histogram messages = reader.total(Phase.MESSAGE);
            if (openModel) {
                // From ticket 1's intended start (the end of warm-up) to its 250, on the hand-set clock.
                assertTrue(messages.valuesAreEquivalent(7_000, messages.getMaxValue()), "max " + messages.getMaxValue());
            } else {
                assertEquals(1, messages.getMaxValue(), "claimed and answered at one clock reading: the 1 µs floor");
            }
        }
    }

    /** Drives the loop until {@code done}; the clock stands still meanwhile. */
    private static void runUntil(EventLoop loop, BooleanSupplier done, String what) {
        long deadline = System.nanoTime() + 10_000 * MS;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("no " + what + " within 10 s");
            }
            if (loop.doWork() == 0) {
                Thread.onSpinWait();
            }
        }
    }
}
