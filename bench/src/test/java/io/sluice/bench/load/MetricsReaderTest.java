package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Which window each figure the reader hands out covers, across two loops. */
class MetricsReaderTest {

    @Test
    void latenciesCountersRepliesAndErrorsAreMeasuredOnlyProgressTheWholeRun() {
        LoopMetricsByWindow[] loops = {new LoopMetricsByWindow(), new LoopMetricsByWindow()};
        for (LoopMetricsByWindow loop : loops) {
            record(loop.warmup(), 3, 500_000);
            record(loop.measured(), 2, 2_000_000);
        }
        MetricsReader reader = new MetricsReader(loops);
        reader.collect();

        assertEquals(4, reader.counter(LoopMetrics.MESSAGES_OK));
        assertEquals(10, reader.runCounter(LoopMetrics.MESSAGES_OK));
        assertEquals(4, reader.total(Phase.MESSAGE).getTotalCount());
        assertEquals(4, reader.interval(Phase.MESSAGE).getTotalCount(), "--hlog intervals: measured only");
        assertEquals(2000, reader.total(Phase.MESSAGE).getMinValue(), "no warm-up latency in the totals");
        assertEquals(10, reader.lastMessages().getTotalCount(), "the progress line shows warm-up too");
        assertEquals(4, reader.replies(250));
        assertEquals(6, reader.warmupReplies(250));
        assertEquals(4, reader.errors(ErrorKind.TIMEOUT));
        assertEquals(6, reader.warmupErrors(ErrorKind.TIMEOUT));
        assertEquals(6, reader.warmupCounter(LoopMetrics.ERRORS));
        assertEquals(10, reader.runCounter(LoopMetrics.ERRORS), "the progress line's errors: the whole run");

        record(loops[0].measured(), 1, 3_000_000);
        reader.collect();
        assertEquals(5, reader.total(Phase.MESSAGE).getTotalCount());
        assertEquals(1, reader.interval(Phase.MESSAGE).getTotalCount());
        assertEquals(1, reader.lastMessages().getTotalCount());
    }

    private static void record(LoopMetrics metrics, int messages, long nanos) {
        for (int i = 0; i < messages; i++) {
            metrics.increment(LoopMetrics.MESSAGES_OK);
            metrics.record(Phase.MESSAGE, nanos);
            metrics.countReply(250);
            metrics.countError(ErrorKind.TIMEOUT);
        }
    }
}
