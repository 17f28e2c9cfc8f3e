package io.sluice.bench.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plot renderer over a small raw-results fixture: what it extracts (medians per connection
 * count, median-rate rep, hgrm vs summary curves, warm-up and quick runs left out) and the PNGs it
 * writes (decodable, the documented size, listed in index.md, stale ones removed).
 */
@Timeout(60)
class PerfPlotsTest {

    private static final String RUN = "2026-12-01-matrix";

    @TempDir
    Path results;

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    /** Sluice and smtp-sink at 20 connections (3 reps) and 1 connection (sweep point, 3 reps). */
    private Path fixture() throws IOException {
        Path run = Files.createDirectories(results.resolve("raw").resolve(RUN));
        double[] sluice20 = {900, 1100, 1000};
        double[] peer20 = {500, 400, 450};
        for (int rep = 0; rep < 3; rep++) {
            write(run, "1k-reuse", "sluice-sink", 20, rep, sluice20[rep], sluice20[rep] * 2, "");
            write(run, "1k-reuse", "smtp-sink", 20, rep, peer20[rep], peer20[rep], "");
            write(run, "1k-reuse-1c", "sluice-sink", 1, rep, 100 + rep, 300, ", \"sweep\": \"1\", \"family\": \"1k-reuse\"");
            write(run, "1k-reuse-1c", "smtp-sink", 1, rep, 50 + rep, 60, ", \"sweep\": \"1\", \"family\": \"1k-reuse\"");
        }
        // Never counted: a warm-up with an absurd rate, and a quick run (unless asked for).
        Files.writeString(run.resolve("1k-reuse-smtp-sink-warmup.json"),
                load("1k-reuse", "smtp-sink", 20, "warmup", 1e9, 1e9, ", \"warmup\": \"1\""));
        Files.writeString(run.resolve("1k-reuse-haraka-0.json"), load("1k-reuse", "haraka", 20, "0", 10, 10, ", \"quick\": \"1\""));
        // The median-rate Sluice rep (rep 2, 1000/s) has an hgrm; the others have none.
        Files.writeString(run.resolve("1k-reuse-sluice-sink-2.hgrm"), hgrm());
        Files.writeString(run.resolve("notes.json"), "{\"tool\": \"something else\"}");
        return run;
    }

    @Test
    void extractsThroughputMediansPerConnectionCount() throws IOException {
        fixture();
        PlotData data = PlotData.collect(results, false);

        assertEquals(1, data.throughput().size());
        PlotData.ThroughputPlot plot = data.throughput().get(0);
        assertEquals("1k-reuse", plot.family());
        assertEquals("messages", plot.unit());
        assertEquals(List.of("sluice-sink", "smtp-sink"), List.copyOf(plot.series().keySet()), "Sluice first, no quick haraka");
        assertEquals(List.of(new PlotData.ThroughputPoint(1, 101, 300), new PlotData.ThroughputPoint(20, 1000, 2000)),
                plot.series().get("sluice-sink"));
        assertEquals(List.of(new PlotData.ThroughputPoint(1, 51, 60), new PlotData.ThroughputPoint(20, 450, 450)),
                plot.series().get("smtp-sink"), "the warm-up's 1e9/s is not a rep");
    }

    @Test
    void latencyCurvesComeFromTheMedianRepsHgrmOrTheSummary() throws IOException {
        fixture();
        PlotData data = PlotData.collect(results, false);

        assertEquals(1, data.latency().size(), "sweep points get no latency plot");
        PlotData.LatencyPlot plot = data.latency().get(0);
        assertEquals("1k-reuse", plot.scenario());
        assertEquals("message", plot.phase());
        PercentileCurve sluice = plot.curves().get("sluice-sink");
        assertEquals("hgrm", sluice.source());
        assertTrue(sluice.percentiles().size() > 20, "the full distribution: " + sluice.percentiles().size());
        assertTrue(sluice.percentiles().get(sluice.percentiles().size() - 1) < 1.0, "the 100th percentile is left out");
        assertEquals(1.0, sluice.latencyMs().get(0), 0.01, "first value, ms");
        PercentileCurve peer = plot.curves().get("smtp-sink");
        assertEquals("summary", peer.source());
        assertEquals(List.of(0.5, 0.9, 0.99, 0.999), peer.percentiles());
        assertEquals(List.of(3.0, 4.0, 5.0, 6.0), peer.latencyMs(), "rep 2 (450/s) is the median rep: its p-values");
    }

    @Test
    void quickRunsOnlyWhenAsked() throws IOException {
        fixture();
        PlotData data = PlotData.collect(results, true);
        assertTrue(data.latency().get(0).curves().containsKey("haraka"));
        assertEquals(List.of("sluice-sink", "haraka", "smtp-sink"), data.servers());
    }

    @Test
    void rendersPngsOfTheDocumentedSizeAndAnIndex() throws IOException {
        fixture();
        Path out = results.resolve("plots");
        Files.createDirectories(out);
        Path stale = Files.writeString(out.resolve("old-run-latency-x.png"), "not a png");

        List<Path> written = new PerfPlots(PlotData.collect(results, false)).render(out);

        Path throughput = out.resolve(RUN + "-throughput-1k-reuse.png");
        Path latency = out.resolve(RUN + "-latency-1k-reuse.png");
        assertEquals(List.of(throughput, latency, out.resolve("index.md")), written);
        assertSize(throughput, 2 * PerfPlots.PANEL_WIDTH, PerfPlots.PANEL_HEIGHT);
        assertSize(latency, PerfPlots.LATENCY_WIDTH, PerfPlots.LATENCY_HEIGHT);
        assertFalse(Files.exists(stale), "the renderer owns plots/: stale PNGs go");
        String index = Files.readString(out.resolve("index.md"));
        assertTrue(index.startsWith("#### " + RUN + "\n"), index);
        assertTrue(index.contains("](plots/" + RUN + "-throughput-1k-reuse.png)"), index);
        assertTrue(index.contains("](plots/" + RUN + "-latency-1k-reuse.png)"), index);
    }

    @Test
    void chartsCarryOneSeriesPerServer() throws IOException {
        fixture();
        PlotData data = PlotData.collect(results, false);
        PerfPlots plots = new PerfPlots(data);
        var charts = plots.throughputCharts(data.throughput().get(0));
        assertEquals(List.of("sluice-sink", "smtp-sink"), List.copyOf(charts[0].getSeriesMap().keySet()));
        assertEquals(List.of("sluice-sink", "smtp-sink"), List.copyOf(charts[1].getSeriesMap().keySet()));
        var latency = plots.latencyChart(data.latency().get(0));
        assertEquals(List.of("sluice-sink", "smtp-sink" + PerfPlots.SUMMARY_SUFFIX), List.copyOf(latency.getSeriesMap().keySet()));
    }

    @Test
    void emptyResultsGiveAnIndexThatSaysSo() throws IOException {
        List<Path> written = new PerfPlots(PlotData.collect(results, false)).render(results.resolve("plots"));
        assertEquals(1, written.size());
        assertTrue(Files.readString(written.get(0)).startsWith("No plots yet"));
    }

    @Test
    void percentileAxisLabels() {
        assertEquals("0%", PerfPlots.percentileLabel(0));
        assertEquals("90%", PerfPlots.percentileLabel(1));
        assertEquals("99%", PerfPlots.percentileLabel(2));
        assertEquals("99.99%", PerfPlots.percentileLabel(4));
        assertEquals("", PerfPlots.percentileLabel(1.5));
        assertEquals(2.0, PercentileCurve.axisX(0.99), 1e-9);
    }

    @Test
    void jsonTreeReadsPythonsNonFiniteNumbersAndRejectsGarbage() {
        Object json = JsonTree.parse("{\"a\": {\"b\": [1, NaN, Infinity]}, \"c\": 3.0, \"s\": \"x\\\"y\"}");
        assertEquals("3", JsonTree.text(json, "c"));
        assertEquals("x\"y", JsonTree.text(json, "s"));
        assertTrue(Double.isNaN(JsonTree.number(json, "a", "missing")));
        assertThrowsIllegal("{\"a\": 1,}");
        assertThrowsIllegal("[1] 2");
    }

    private static void assertThrowsIllegal(String text) {
        try {
            JsonTree.parse(text);
        } catch (IllegalArgumentException expected) {
            return;
        }
        throw new AssertionError("accepted " + text);
    }

    private static void assertSize(Path png, int width, int height) throws IOException {
        assertTrue(Files.size(png) > 1000, png + " is " + Files.size(png) + " bytes");
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(width, image.getWidth(), png.toString());
        assertEquals(height, image.getHeight(), png.toString());
    }

    /** A real HdrHistogram percentile text: 1..50 ms, values scaled to ms as sluice load writes them. */
    private static String hgrm() {
        Histogram histogram = new Histogram(3);
        for (int micros = 1000; micros <= 50_000; micros += 10) {
            histogram.recordValue(micros);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        histogram.outputPercentileDistribution(new PrintStream(bytes, true, StandardCharsets.UTF_8), 1000.0);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static void write(Path run, String scenario, String server, int connections, int rep, double rate,
            double perCpu, String extraTags) throws IOException {
        Files.writeString(run.resolve(scenario + "-" + server + "-" + rep + ".json"),
                load(scenario, server, connections, Integer.toString(rep), rate, perCpu, extraTags));
    }

    /** The parts of a tagged {@code sluice load --json} file the renderer reads; rep R's p50 is R + 1 ms. */
    private static String load(String scenario, String server, int connections, String rep, double rate, double perCpu,
            String extraTags) {
        double base = rep.equals("warmup") ? 0 : Integer.parseInt(rep) + 1;
        return String.format(Locale.ROOT, """
                {"tool": "sluice load",
                 "tags": {"scenario": "%s", "server": "%s", "rep": "%s"%s},
                 "options": {"target": "127.0.0.1:1", "connections": %d, "handshake_only": false},
                 "rates": {"messages_per_s": %s, "sessions_per_s": 1.0},
                 "cpu": {"messages_per_server_cpu_s": 1.0},
                 "cpu_after_drain": {"messages_per_server_cpu_s": %s},
                 "latency_ms": {"message": {"p50": %s, "p90": %s, "p99": %s, "p99.9": %s, "max": 99.0}},
                 "exit_status": 0}
                """, scenario, server, rep, extraTags, connections, rate, perCpu, base, base + 1, base + 2, base + 3);
    }
}
