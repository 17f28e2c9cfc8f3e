package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.bench.plot.JsonTree;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The result's reply codes and errors describe the measured window, like its percentiles; the
 * warm-up's are reported apart (summary line, JSON {@code warmup}) and still fail the run.
 */
class LoadResultWindowTest {

    @Test
    @SuppressWarnings("unchecked")
    void replyCodesAndErrorsCountTheMeasuredWindowAndWarmupIsReportedApart() {
        LoopMetricsByWindow loop = new LoopMetricsByWindow();
        for (int i = 0; i < 5; i++) {
            loop.warmup().countReply(250);
        }
        loop.warmup().countReply(451);
        loop.warmup().countError(ErrorKind.UNEXPECTED_REPLY);
        loop.warmup().countError(ErrorKind.TIMEOUT);
        loop.measured().countReply(250);
        loop.measured().countReply(250);
        loop.measured().increment(LoopMetrics.MESSAGES_OK);
        LoadResult result = result(loop, 1_000_000_000L);

        assertEquals(Map.of(250, 2L), result.replyCodes(), "measured replies only");
        assertEquals(0, result.errors(), "no measured error");
        assertEquals(0, result.errors(ErrorKind.TIMEOUT));
        assertEquals(Map.of(250, 5L, 451, 1L), result.warmupReplyCodes());
        assertEquals(2, result.warmupErrors());
        assertEquals(1, result.warmupErrors(ErrorKind.TIMEOUT));
        assertEquals(1, result.exitStatus(), "a warm-up error still fails the run, as --max-errors counts it");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        result.printSummary(new PrintStream(out, true, StandardCharsets.UTF_8));
        String summary = out.toString(StandardCharsets.UTF_8);
        assertTrue(summary.contains("replies: 250=2\n"), summary);
        assertTrue(summary.contains("errors: 0\n"), summary);
        assertTrue(summary.contains("warm-up (not above): replies 250=5 451=1  errors 2 timeout=1 unexpected-reply=1"),
                summary);

        Map<String, Object> root = (Map<String, Object>) JsonTree.parse(result.toJson());
        assertEquals(Map.of("250", 2.0), root.get("reply_codes"));
        assertEquals(0.0, ((Map<String, Object>) root.get("totals")).get("errors"));
        Map<String, Object> warmup = (Map<String, Object>) root.get("warmup");
        assertEquals(2.0, warmup.get("errors_total"));
        assertEquals(Map.of("250", 5.0, "451", 1.0), warmup.get("reply_codes"));
        assertEquals(1.0, ((Map<String, Object>) warmup.get("errors")).get("timeout"));
    }

    @Test
    void withoutWarmupThereIsNoWarmupLine() {
        LoopMetricsByWindow loop = new LoopMetricsByWindow();
        loop.measured().countReply(250);
        LoadResult result = result(loop, 0);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        result.printSummary(new PrintStream(out, true, StandardCharsets.UTF_8));
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("warm-up"), out.toString(StandardCharsets.UTF_8));
        assertNull(result.warmupReplyCodes().get(250));
        assertEquals(0, result.exitStatus());
    }

    private static LoadResult result(LoopMetricsByWindow loop, long warmupNanos) {
        LoadOptions options = LoadOptions.builder(new InetSocketAddress("127.0.0.1", 25)).warmupNanos(warmupNanos)
                .progress(false).build();
        MetricsReader reader = new MetricsReader(new LoopMetricsByWindow[] {loop});
        reader.collect();
        return new LoadResult(options, new MachineInfo(2, "test cpu", "17", "linux"), "jdk", 1_000_000_000L,
                false, reader, new CpuMeter.CpuUsage(0, Double.NaN, Double.NaN));
    }
}
