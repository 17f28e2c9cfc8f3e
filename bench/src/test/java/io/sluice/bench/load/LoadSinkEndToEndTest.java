package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `sluice load` into a real `sluice sink`: every message's X-Sluice-Sent stamp is found and timed. */
@Timeout(60)
class LoadSinkEndToEndTest {

    @Test
    void theSinkTimesEveryMessageTheGeneratorStamped(@TempDir Path dir) throws Exception {
        SmtpServer sink = SmtpServer.start(SluiceConfig.load(null, Map.of("listen", "127.0.0.1:0",
                "hostname", "sink.test", "reactor.threads", "1", "tls.level", "none",
                "spool.dir", dir.resolve("spool").toString())), SmtpServer.Mode.SINK, EventLog.silent());
        try {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            LoadOptions options = LoadOptions.builder(new java.net.InetSocketAddress("127.0.0.1",
                            sink.boundAddress(ListenerMode.SMTP).getPort()))
                    .connections(3).messagesPerConnection(7).totalMessages(42).threads(1)
                    .sizes(SizeDistribution.parse("1KiB:1,20KiB:1")).progress(false).build();
            LoadResult result = new LoadGenerator(options, new PrintStream(err, true, StandardCharsets.UTF_8)).run();

            assertEquals(42, result.messagesOk(), err.toString(StandardCharsets.UTF_8));
            Histogram e2e = sink.endToEndLatency().takeInterval();
            assertEquals(0, sink.endToEndLatency().unstamped(), "every message carried a stamp");
            assertEquals(0, sink.endToEndLatency().clockSkewed(), "one clock, microseconds on both sides");
            assertEquals(42, e2e.getTotalCount(), "one latency per accepted message");
            assertTrue(e2e.getMaxValue() < 60_000_000L, "under a minute: " + e2e.getMaxValue() + " µs");
        } finally {
            sink.close();
        }
    }
}
