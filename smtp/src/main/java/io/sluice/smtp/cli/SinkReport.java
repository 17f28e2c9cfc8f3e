package io.sluice.smtp.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

import org.HdrHistogram.Histogram;

import io.sluice.smtp.server.EndToEndLatency;
import io.sluice.smtp.server.SessionStats;

/**
 * What {@code sluice sink} prints: a line per report period (messages/s, MB/s and the period's
 * end-to-end latency percentiles from the {@code X-Sluice-Sent} stamps) and, at exit, a summary
 * line and the optional JSON file. The report thread and the shutdown hook both call it, so every
 * method is synchronized (never on a loop thread; the loops only write their own recorders).
 */
final class SinkReport {

    private static final double[] PERCENTILES = {50, 90, 99, 99.9};

    private final SessionStats stats;
    private final EndToEndLatency latency;
    private final long startNanos;
    private final Instant startedAt = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private long lastNanos;
    private long lastMessages;
    private long lastOctets;

    SinkReport(SessionStats stats, EndToEndLatency latency, long startNanos) {
        this.stats = stats;
        this.latency = latency;
        this.startNanos = startNanos;
        this.lastNanos = startNanos;
    }

    /** The period since the previous call; null when no message arrived in it (an idle sink stays quiet). */
    synchronized String intervalLine(long nowNanos) {
        Histogram interval = latency.takeInterval();
        long messages = stats.messages();
        long octets = stats.messageOctets();
        double seconds = Math.max(1e-9, (nowNanos - lastNanos) / 1e9);
        String line = messages == lastMessages ? null : String.format(Locale.ROOT,
                "sink: %.0f msg/s, %.1f MB/s, %d messages, %d connections, %d rejected, e2e %s",
                (messages - lastMessages) / seconds, (octets - lastOctets) / 1e6 / seconds, messages,
                stats.connections(), stats.rejectedMessages(), percentiles(interval, 50, 99));
        lastNanos = nowNanos;
        lastMessages = messages;
        lastOctets = octets;
        return line;
    }

    /** The whole run: totals, average rates and end-to-end percentiles. */
    synchronized String summaryLine(long nowNanos) {
        latency.takeInterval();
        Histogram total = latency.total();
        double seconds = Math.max(1e-9, (nowNanos - startNanos) / 1e9);
        return String.format(Locale.ROOT,
                "sink summary: %.1f s, %d messages, %d bytes, %.0f msg/s, %.1f MB/s, %d connections, %d rejected, "
                        + "e2e (%d stamped, %d unstamped) %s",
                seconds, stats.messages(), stats.messageOctets(), stats.messages() / seconds,
                stats.messageOctets() / 1e6 / seconds, stats.connections(), stats.rejectedMessages(),
                total.getTotalCount(), latency.unstamped(), percentiles(total, 50, 90, 99, 99.9));
    }

    /** The whole run as one JSON object (rates over the time since the sink started). */
    synchronized String json(long nowNanos) {
        latency.takeInterval();
        Histogram total = latency.total();
        double seconds = Math.max(1e-9, (nowNanos - startNanos) / 1e9);
        StringBuilder out = new StringBuilder("{\n");
        field(out, "tool", Json.string("sluice sink"));
        field(out, "started_at", Json.string(startedAt.toString()));
        field(out, "finished_at", Json.string(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
        field(out, "elapsed_s", number(seconds));
        field(out, "messages", Long.toString(stats.messages()));
        field(out, "message_bytes", Long.toString(stats.messageOctets()));
        field(out, "messages_per_s", number(stats.messages() / seconds));
        field(out, "mb_per_s", number(stats.messageOctets() / 1e6 / seconds));
        field(out, "connections", Long.toString(stats.connections()));
        field(out, "rejected_messages", Long.toString(stats.rejectedMessages()));
        field(out, "tls_handshakes", Long.toString(stats.tlsHandshakes()));
        field(out, "e2e_unstamped", Long.toString(latency.unstamped()));
        field(out, "e2e_clock_skewed", Long.toString(latency.clockSkewed()));
        out.append("  \"e2e_latency_ms\": {\"count\": ").append(total.getTotalCount());
        boolean empty = total.getTotalCount() == 0;
        out.append(", \"mean\": ").append(empty ? "null" : number(total.getMean() / 1000.0));
        for (double p : PERCENTILES) {
            out.append(", \"p").append(label(p)).append("\": ")
                    .append(empty ? "null" : number(total.getValueAtPercentile(p) / 1000.0));
        }
        out.append(", \"max\": ").append(empty ? "null" : number(total.getMaxValue() / 1000.0)).append("}\n}\n");
        return out.toString();
    }

    synchronized void writeJson(Path file, long nowNanos) throws IOException {
        Files.writeString(file, json(nowNanos), StandardCharsets.UTF_8);
    }

    /** "p50 1.23 ms p99 4.56 ms", or "-" when nothing was stamped. */
    static String percentiles(Histogram h, double... percentiles) {
        if (h.getTotalCount() == 0) {
            return "-";
        }
        StringBuilder out = new StringBuilder();
        for (double p : percentiles) {
            out.append(out.length() == 0 ? "" : " ").append('p').append(label(p)).append(' ')
                    .append(String.format(Locale.ROOT, "%.2f", h.getValueAtPercentile(p) / 1000.0)).append(" ms");
        }
        out.append(String.format(Locale.ROOT, " max %.2f ms", h.getMaxValue() / 1000.0));
        return out.toString();
    }

    private static String label(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    private static void field(StringBuilder out, String name, String value) {
        out.append("  ").append(Json.string(name)).append(": ").append(value).append(",\n");
    }

    private static String number(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.3f", value) : "null";
    }
}
