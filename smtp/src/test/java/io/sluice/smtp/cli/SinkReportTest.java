package io.sluice.smtp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;

/** Stamped messages through a real sink: counts, plausible end-to-end latencies, the report lines and JSON. */
@Timeout(30)
class SinkReportTest {

    private static final int STAMPED = 40;
    private static final int UNSTAMPED = 3;
    private static final long MINUTE_MICROS = 60_000_000L;

    @Test
    void reportsCountsAndEndToEndLatencyFromTheSentStamps(@TempDir Path dir) throws Exception {
        SmtpServer server = SmtpServer.start(SluiceConfig.load(null, Map.of("listen", "127.0.0.1:0",
                "hostname", "sink.test", "reactor.threads", "2", "spool.dir", dir.resolve("spool").toString())),
                SmtpServer.Mode.SINK, EventLog.silent());
        try {
            SinkReport report = new SinkReport(server.stats(), server.endToEndLatency(), System.nanoTime());
            int port = server.boundAddress(ListenerMode.SMTP).getPort();
            send(port, STAMPED, true);
            send(port, UNSTAMPED, false);

            String line = report.intervalLine(System.nanoTime());
            assertTrue(line != null && line.contains((STAMPED + UNSTAMPED) + " messages") && line.contains("e2e p50 "), line);
            Histogram total = server.endToEndLatency().total();
            assertEquals(STAMPED, total.getTotalCount(), "every stamped message recorded once");
            assertEquals(UNSTAMPED, server.endToEndLatency().unstamped());
            assertTrue(total.getMinValue() >= 1 && total.getMaxValue() < MINUTE_MICROS, "plausible: " + total.getMaxValue() + " µs");
            assertEquals(null, report.intervalLine(System.nanoTime()), "an idle period prints nothing");

            String summary = report.summaryLine(System.nanoTime());
            assertTrue(summary.contains((STAMPED + UNSTAMPED) + " messages") && summary.contains("(" + STAMPED + " stamped, "
                    + UNSTAMPED + " unstamped)") && summary.contains("p99.9 "), summary);
            Path json = dir.resolve("sink.json");
            report.writeJson(json, System.nanoTime());
            String text = Files.readString(json);
            assertTrue(text.contains("\"messages\": " + (STAMPED + UNSTAMPED) + ","), text);
            Matcher p99 = Pattern.compile("\"p99\": ([0-9.]+)").matcher(text);
            assertTrue(p99.find(), text);
            double p99Millis = Double.parseDouble(p99.group(1));
            assertTrue(p99Millis >= 0 && p99Millis < 60_000, text);
            assertTrue(text.contains("\"e2e_latency_ms\": {\"count\": " + STAMPED + ","), text);
        } finally {
            server.close();
        }
    }

    /** One connection, {@code count} pipelined messages, each stamped with the time it is written. */
    private static void send(int port, int count, boolean stamped) throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            expect(in, "220");
            out.write("EHLO load.test\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply;
            do {
                reply = in.readLine();
            } while (reply.startsWith("250-"));
            for (int i = 0; i < count; i++) {
                long sentMicros = System.currentTimeMillis() * 1000;
                String header = stamped ? String.format("X-Sluice-Sent: %016d\r\n", sentMicros) : "";
                out.write(("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
                        + "Subject: " + i + "\r\n" + header + "Message-ID: <" + i + "@load.test>\r\n\r\n"
                        + "body " + i + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
                expect(in, "250");
                expect(in, "250");
                expect(in, "354");
                expect(in, "250");
            }
            out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            expect(in, "221");
        }
    }

    private static void expect(BufferedReader in, String code) throws Exception {
        String line = in.readLine();
        assertTrue(line != null && line.startsWith(code + " "), "expected " + code + ", got " + line);
    }
}
