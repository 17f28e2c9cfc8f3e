package io.sluice.bench.plot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A latency percentile distribution: points (percentile as a fraction below 1, latency in ms) in
 * rising percentile order, as in HdrHistogram's percentile plot. Read from an {@code .hgrm} file
 * (HdrHistogram's {@code outputPercentileDistribution} text, values already in ms) or, for runs
 * recorded without one, from the JSON summary's p50/p90/p99/p99.9. Immutable; any thread.
 *
 * @param percentiles fractions in [0, 1), rising
 * @param latencyMs   latency at each percentile, ms
 * @param source      "hgrm" or "summary"
 */
record PercentileCurve(List<Double> percentiles, List<Double> latencyMs, String source) {

    private static final String[][] SUMMARY_KEYS = {{"p50", "0.5"}, {"p90", "0.9"}, {"p99", "0.99"}, {"p99.9", "0.999"}};

    PercentileCurve {
        percentiles = List.copyOf(percentiles);
        latencyMs = List.copyOf(latencyMs);
    }

    /** The run's curve: its .hgrm beside the JSON when present, else the JSON summary's percentiles. */
    static PercentileCurve of(LoadRun run) throws IOException {
        Path hgrm = run.hgrmFile();
        if (Files.isRegularFile(hgrm)) {
            return parseHgrm(Files.readString(hgrm, StandardCharsets.UTF_8));
        }
        Object json = JsonTree.parse(Files.readString(run.file(), StandardCharsets.UTF_8));
        return fromSummary(JsonTree.at(json, "latency_ms", run.handshakeOnly() ? "session" : "message"));
    }

    /**
     * Parses the table of an .hgrm text: "Value Percentile TotalCount 1/(1-Percentile)" rows; the
     * header, blank lines, the "#[Mean ..." footer and the 100th percentile (infinite on the
     * 1/(1-p) axis) are skipped.
     */
    static PercentileCurve parseHgrm(String text) {
        List<Double> percentiles = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] columns = line.trim().split("\\s+");
            if (columns.length != 4 || !isNumber(columns[0]) || !isNumber(columns[1])) {
                continue;
            }
            double percentile = Double.parseDouble(columns[1]);
            if (percentile < 1.0) {
                percentiles.add(percentile);
                values.add(Double.parseDouble(columns[0]));
            }
        }
        return new PercentileCurve(percentiles, values, "hgrm");
    }

    /** The p50..p99.9 points of a {@code latency_ms.<phase>} JSON object (missing ones skipped). */
    static PercentileCurve fromSummary(Object phase) {
        List<Double> percentiles = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (String[] key : SUMMARY_KEYS) {
            double value = JsonTree.number(phase, key[0]);
            if (!Double.isNaN(value)) {
                percentiles.add(Double.parseDouble(key[1]));
                values.add(value);
            }
        }
        return new PercentileCurve(percentiles, values, "summary");
    }

    /** The x coordinate of the percentile plot: log10(1/(1-p)), so 90% is 1, 99% is 2, 99.9% is 3. */
    static double axisX(double percentile) {
        return Math.log10(1.0 / (1.0 - percentile));
    }

    boolean isEmpty() {
        return percentiles.isEmpty();
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
