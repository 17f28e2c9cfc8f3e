package io.sluice.bench.plot;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler.LegendLayout;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Renders the perf-results plots to PNG with XChart: throughput vs connections (wall rate and per
 * server CPU-second, side by side) and HdrHistogram-style latency percentile plots, one series per
 * server, plus {@code index.md} (the Markdown that perf-results/make-table pastes into the README).
 * The output folder is owned by this renderer: PNGs it did not write this time are deleted.
 * Runs headless on the caller's thread.
 *
 * <pre>
 * java -Djava.awt.headless=true -cp bench/target/classes:$(cat bench/target/classpath.txt) \
 *     io.sluice.bench.plot.PerfPlots --results perf-results [--out perf-results/plots] [--include-quick]
 * </pre>
 * (perf-results/make-table runs exactly this after a build; see its --no-plots.)
 */
public final class PerfPlots {

    /** Width and height of one throughput panel; the image holds two side by side. */
    static final int PANEL_WIDTH = 640;
    static final int PANEL_HEIGHT = 440;
    static final int LATENCY_WIDTH = 900;
    static final int LATENCY_HEIGHT = 520;
    static final String INDEX = "index.md";
    /** Appended to a server's legend entry when its curve has only the JSON summary's percentiles. */
    static final String SUMMARY_SUFFIX = " (p50-p99.9 only)";

    private static final Color[] PALETTE = {new Color(0xd6, 0x27, 0x28), new Color(0x1f, 0x77, 0xb4),
        new Color(0x2c, 0xa0, 0x2c), new Color(0xff, 0x7f, 0x0e), new Color(0x94, 0x67, 0xbd),
        new Color(0x8c, 0x56, 0x4b), new Color(0x7f, 0x7f, 0x7f)};

    private final PlotData data;
    private final List<String> servers;

    PerfPlots(PlotData data) {
        this.data = data;
        this.servers = data.servers();
    }

    /** {@code --results DIR [--out DIR] [--include-quick]}; exit status 2 on bad arguments. */
    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path results = null;
        Path out = null;
        boolean includeQuick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--results" -> results = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--include-quick" -> includeQuick = true;
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (results == null) {
            usage("--results DIR is required");
        }
        PerfPlots plots = new PerfPlots(PlotData.collect(results, includeQuick));
        List<Path> written = plots.render(out == null ? results.resolve("plots") : out);
        System.err.println("perf-plots: " + written.size() + " files in " + (out == null ? results.resolve("plots") : out));
    }

    private static void usage(String problem) {
        System.err.println("perf-plots: " + problem);
        System.err.println("usage: PerfPlots --results PERF_RESULTS_DIR [--out PLOTS_DIR] [--include-quick]");
        System.exit(2);
    }

    /** Writes every plot and index.md into {@code outDir}, deletes stale PNGs there; returns what it wrote. */
    List<Path> render(Path outDir) throws IOException {
        Files.createDirectories(outDir);
        List<Path> written = new ArrayList<>();
        StringBuilder index = new StringBuilder();
        for (String run : runsNewestFirst()) {
            index.append("#### ").append(run).append("\n\n");
            for (PlotData.ThroughputPlot plot : data.throughput()) {
                if (plot.run().equals(run)) {
                    Path file = outDir.resolve(fileName(run, "throughput", plot.family()));
                    writeThroughput(plot, file);
                    written.add(file);
                    index.append(link(outDir, file, plot.family() + ": throughput vs connections"));
                }
            }
            for (PlotData.LatencyPlot plot : data.latency()) {
                if (plot.run().equals(run)) {
                    Path file = outDir.resolve(fileName(run, "latency", plot.scenario()));
                    writeLatency(plot, file);
                    written.add(file);
                    index.append(link(outDir, file, plot.scenario() + ": " + plot.phase() + " latency by percentile"));
                }
            }
        }
        deleteStale(outDir, written);
        Path indexFile = outDir.resolve(INDEX);
        Files.writeString(indexFile, index.length() == 0 ? "No plots yet: no tagged `sluice load` results under raw/.\n"
                : index.toString(), StandardCharsets.UTF_8);
        written.add(indexFile);
        return written;
    }

    private List<String> runsNewestFirst() {
        Set<String> runs = new TreeSet<>(Comparator.reverseOrder());
        data.throughput().forEach(p -> runs.add(p.run()));
        data.latency().forEach(p -> runs.add(p.run()));
        return List.copyOf(runs);
    }

    /** A Markdown image line; the path is relative to perf-results/ (the README's folder). */
    private static String link(Path outDir, Path file, String title) {
        return "![" + title + "](" + outDir.getFileName() + "/" + file.getFileName() + ")\n\n";
    }

    static String fileName(String run, String kind, String name) {
        return (run + "-" + kind + "-" + name).replaceAll("[^A-Za-z0-9._-]", "_") + ".png";
    }

    private static void deleteStale(Path outDir, List<Path> keep) throws IOException {
        try (Stream<Path> files = Files.list(outDir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".png")).toList()) {
                if (!keep.contains(file)) {
                    Files.delete(file);
                }
            }
        }
    }

    XYChart[] throughputCharts(PlotData.ThroughputPlot plot) {
        String unit = plot.unit();
        XYChart wall = chart(plot.family() + ": " + unit + "/s (wall)", "connections", unit + "/s", PANEL_WIDTH, PANEL_HEIGHT);
        XYChart perCpu = chart(plot.family() + ": " + unit + " per server CPU-second", "connections",
                unit + " / server CPU-s", PANEL_WIDTH, PANEL_HEIGHT);
        boolean logX = false;
        for (Map.Entry<String, List<PlotData.ThroughputPoint>> e : plot.series().entrySet()) {
            List<PlotData.ThroughputPoint> points = e.getValue();
            logX |= points.get(points.size() - 1).connections() >= 10 * points.get(0).connections();
            addSeries(wall, e.getKey(), points.stream().mapToDouble(PlotData.ThroughputPoint::connections).toArray(),
                    points.stream().mapToDouble(PlotData.ThroughputPoint::ratePerS).toArray(), true);
            List<PlotData.ThroughputPoint> measured = points.stream().filter(p -> !Double.isNaN(p.perServerCpuS())).toList();
            if (!measured.isEmpty()) {
                addSeries(perCpu, e.getKey(), measured.stream().mapToDouble(PlotData.ThroughputPoint::connections).toArray(),
                        measured.stream().mapToDouble(PlotData.ThroughputPoint::perServerCpuS).toArray(), true);
            }
        }
        for (XYChart c : new XYChart[] {wall, perCpu}) {
            c.getStyler().setXAxisLogarithmic(logX).setXAxisDecimalPattern("#,##0").setYAxisDecimalPattern("#,##0");
            c.getStyler().setYAxisMin(0.0);
        }
        return new XYChart[] {wall, perCpu};
    }

    private void writeThroughput(PlotData.ThroughputPlot plot, Path file) throws IOException {
        XYChart[] charts = throughputCharts(plot);
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(List.of(charts), 1, 2, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    XYChart latencyChart(PlotData.LatencyPlot plot) {
        XYChart chart = chart(plot.scenario() + ": " + plot.phase() + " latency by percentile (" + plot.run() + ")",
                "percentile", "latency ms", LATENCY_WIDTH, LATENCY_HEIGHT);
        double maxX = 1;
        for (Map.Entry<String, PercentileCurve> e : plot.curves().entrySet()) {
            PercentileCurve curve = e.getValue();
            double[] x = curve.percentiles().stream().mapToDouble(PercentileCurve::axisX).toArray();
            // A log axis cannot show 0 ms: clamp to 1 µs, the histograms' resolution.
            double[] y = curve.latencyMs().stream().mapToDouble(v -> Math.max(v, 0.001)).toArray();
            boolean summary = curve.source().equals("summary");
            addSeries(chart, e.getKey() + (summary ? SUMMARY_SUFFIX : ""), x, y, summary);
            maxX = Math.max(maxX, x[x.length - 1]);
        }
        // The x axis is linear in log10(1/(1-p)) rather than XChart's log axis: its tick labels then
        // read as percentiles through the formatting function (XChart's log axis ignores one).
        chart.getStyler().setYAxisLogarithmic(true).setYAxisLogarithmicDecadeOnly(false).setXAxisMin(0.0).setXAxisMax(Math.max(1.0, Math.ceil(maxX)))
                .setxAxisTickLabelsFormattingFunction(PerfPlots::percentileLabel);
        return chart;
    }

    private void writeLatency(PlotData.LatencyPlot plot, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(latencyChart(plot), out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /**
     * Tick label of the percentile axis, whose coordinate is log10(1/(1-p)): 0 → "0%", 1 → "90%",
     * 2 → "99%", 3 → "99.9%"; ticks between whole numbers stay unlabelled.
     */
    static String percentileLabel(double axisX) {
        long nines = Math.round(axisX);
        if (Math.abs(axisX - nines) > 1e-6 || nines < 0) {
            return "";
        }
        if (nines == 0) {
            return "0%";
        }
        return nines == 1 ? "90%" : "99" + (nines > 2 ? "." + "9".repeat((int) nines - 2) : "") + "%";
    }

    private static XYChart chart(String title, String xTitle, String yTitle, int width, int height) {
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        // Below the plot, in a row: inside it, the legend hid the low-rate servers' points.
        chart.getStyler().setLegendPosition(LegendPosition.OutsideS).setLegendLayout(LegendLayout.Horizontal).setMarkerSize(6)
                .setChartBackgroundColor(Color.WHITE);
        return chart;
    }

    private void addSeries(XYChart chart, String server, double[] x, double[] y, boolean markers) {
        String key = server.replace(SUMMARY_SUFFIX, "");
        Color color = PALETTE[Math.max(0, servers.indexOf(key)) % PALETTE.length];
        XYSeries series = chart.addSeries(server, x, y);
        series.setLineColor(color);
        series.setMarkerColor(color);
        series.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }
}
