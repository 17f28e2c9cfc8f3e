package io.sluice.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

/**
 * {@code --hlog FILE}: an HdrHistogram interval log (the format HistogramLogProcessor and
 * HdrHistogram's plotters read), one interval per progress tick (about a second). The headline
 * latency (whole message, or whole session with {@code --handshake-only}) is written untagged so
 * tools that ignore tags see it; every other phase with a non-empty interval is written tagged
 * with its label. Values in microseconds, max column in milliseconds. Used by the thread that runs
 * {@link LoadGenerator#run()} only.
 */
final class IntervalLog implements AutoCloseable {

    private final PrintStream file;
    private final HistogramLogWriter writer;
    private final Phase headline;
    private final long startEpochMillis;
    private long lastEpochMillis;

    IntervalLog(Path path, Phase headline, long startEpochMillis) throws IOException {
        this.file = new PrintStream(Files.newOutputStream(path), false, StandardCharsets.UTF_8);
        this.writer = new HistogramLogWriter(file);
        this.headline = headline;
        this.startEpochMillis = startEpochMillis;
        this.lastEpochMillis = startEpochMillis;
        writer.outputComment("sluice load interval log: latency in microseconds, untagged = " + headline.label());
        writer.outputLogFormatVersion();
        writer.outputStartTime(startEpochMillis);
        writer.outputBaseTime(startEpochMillis); // interval timestamps are seconds since the start
        writer.setBaseTime(startEpochMillis);
        writer.outputLegend();
    }

    /** Writes the reader's last interval of every phase, ending now. */
    void write(MetricsReader reader, long nowEpochMillis) {
        double start = (lastEpochMillis - startEpochMillis) / 1000.0;
        double end = (nowEpochMillis - startEpochMillis) / 1000.0;
        writeOne(reader.interval(headline), null, start, end);
        for (Phase phase : Phase.values()) {
            Histogram interval = reader.interval(phase);
            if (phase != headline && interval.getTotalCount() > 0) {
                writeOne(interval, phase.label(), start, end);
            }
        }
        lastEpochMillis = nowEpochMillis;
        file.flush();
    }

    private void writeOne(Histogram interval, String tag, double startSeconds, double endSeconds) {
        interval.setTag(tag);
        writer.outputIntervalHistogram(startSeconds, endSeconds, interval, 1000.0);
        interval.setTag(null);
    }

    @Override
    public void close() {
        file.close();
    }
}
