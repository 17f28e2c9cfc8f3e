package io.sluice.bench.plot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the perf-results plots show, extracted from the raw results (pure data, no drawing):
 * for every run folder {@code raw/RUN/}, a throughput-vs-connections plot per scenario family
 * measured at two or more connection counts (medians over reps), and a latency percentile plot per
 * scenario (each server's median-rate rep). Warm-up runs never count; quick runs only when asked.
 * Built once on the caller's thread; immutable afterwards.
 *
 * @param throughput the throughput plots, by run then family
 * @param latency    the latency plots, by run then scenario
 */
record PlotData(List<ThroughputPlot> throughput, List<LatencyPlot> latency) {

    /** Servers in legend order: Sluice first (the subject), then the peers by name. */
    static final Comparator<String> SERVER_ORDER =
            Comparator.comparing((String s) -> !s.toLowerCase(java.util.Locale.ROOT).startsWith("sluice"))
                    .thenComparing(Comparator.naturalOrder());

    /**
     * One point of a throughput series: medians over the measured reps at one connection count.
     *
     * @param connections   concurrent connections
     * @param ratePerS      median wall rate (messages/s, or sessions/s when handshake-only)
     * @param perServerCpuS median count per server CPU-second (NaN when not measured)
     */
    record ThroughputPoint(int connections, double ratePerS, double perServerCpuS) {
    }

    /**
     * Throughput vs connections of one scenario family in one run.
     *
     * @param run    run folder name
     * @param family scenario family
     * @param unit   "messages" or "sessions"
     * @param series points by server (legend order), rising connections
     */
    record ThroughputPlot(String run, String family, String unit, Map<String, List<ThroughputPoint>> series) {
    }

    /**
     * Latency percentile distributions of one scenario in one run.
     *
     * @param run      run folder name
     * @param scenario scenario
     * @param phase    "message" or "session" latency
     * @param curves   curve by server (legend order)
     */
    record LatencyPlot(String run, String scenario, String phase, Map<String, PercentileCurve> curves) {
    }

    /** Reads every {@code raw/RUN/*.json} under {@code resultsDir} (the perf-results folder). */
    static PlotData collect(Path resultsDir, boolean includeQuick) throws IOException {
        List<ThroughputPlot> throughput = new ArrayList<>();
        List<LatencyPlot> latency = new ArrayList<>();
        Path raw = resultsDir.resolve("raw");
        if (!Files.isDirectory(raw)) {
            return new PlotData(throughput, latency);
        }
        for (Path runDir : sorted(raw)) {
            if (!Files.isDirectory(runDir)) {
                continue;
            }
            List<LoadRun> runs = new ArrayList<>();
            for (Path file : sorted(runDir)) {
                if (file.getFileName().toString().endsWith(".json")) {
                    LoadRun.read(file).filter(r -> !r.warmup() && r.ok() && (includeQuick || !r.quick()))
                            .ifPresent(runs::add);
                }
            }
            throughput.addAll(throughputPlots(runs));
            latency.addAll(latencyPlots(runs));
        }
        return new PlotData(throughput, latency);
    }

    static List<ThroughputPlot> throughputPlots(List<LoadRun> runs) {
        List<ThroughputPlot> plots = new ArrayList<>();
        Map<String, List<LoadRun>> byFamily = group(runs, r -> r.run() + "\0" + r.family());
        for (List<LoadRun> family : byFamily.values()) {
            if (family.stream().map(LoadRun::connections).distinct().count() < 2) {
                continue;
            }
            Map<String, List<ThroughputPoint>> series = new TreeMap<>(SERVER_ORDER);
            group(family, LoadRun::server).forEach((server, serverRuns) -> series.put(server, points(serverRuns)));
            LoadRun first = family.get(0);
            plots.add(new ThroughputPlot(first.run(), first.family(), unit(first), series));
        }
        return plots;
    }

    private static List<ThroughputPoint> points(List<LoadRun> serverRuns) {
        Map<Integer, List<LoadRun>> byConnections = serverRuns.stream()
                .collect(Collectors.groupingBy(LoadRun::connections, TreeMap::new, Collectors.toList()));
        List<ThroughputPoint> points = new ArrayList<>();
        byConnections.forEach((connections, reps) -> points.add(new ThroughputPoint(connections,
                median(reps, LoadRun::ratePerS), median(reps, LoadRun::perServerCpuS))));
        return points;
    }

    static List<LatencyPlot> latencyPlots(List<LoadRun> runs) throws IOException {
        List<LatencyPlot> plots = new ArrayList<>();
        Map<String, List<LoadRun>> byScenario = group(runs.stream().filter(r -> !r.sweep()).toList(),
                r -> r.run() + "\0" + r.scenario());
        for (List<LoadRun> scenario : byScenario.values()) {
            Map<String, PercentileCurve> curves = new TreeMap<>(SERVER_ORDER);
            for (Map.Entry<String, List<LoadRun>> server : group(scenario, LoadRun::server).entrySet()) {
                PercentileCurve curve = PercentileCurve.of(medianRun(server.getValue()));
                if (!curve.isEmpty()) {
                    curves.put(server.getKey(), curve);
                }
            }
            if (!curves.isEmpty()) {
                LoadRun first = scenario.get(0);
                plots.add(new LatencyPlot(first.run(), first.scenario(), first.handshakeOnly() ? "session" : "message", curves));
            }
        }
        return plots;
    }

    /** The rep whose rate is the median (the lower middle one for an even count): a real run, not a blend. */
    static LoadRun medianRun(List<LoadRun> reps) {
        List<LoadRun> byRate = reps.stream().sorted(Comparator.comparingDouble(LoadRun::ratePerS)).toList();
        return byRate.get((byRate.size() - 1) / 2);
    }

    static double median(List<LoadRun> reps, ToDoubleFunction<LoadRun> value) {
        double[] values = reps.stream().mapToDouble(value).filter(v -> !Double.isNaN(v)).sorted().toArray();
        if (values.length == 0) {
            return Double.NaN;
        }
        int mid = values.length / 2;
        return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static String unit(LoadRun run) {
        return run.handshakeOnly() ? "sessions" : "messages";
    }

    private static <K> Map<K, List<LoadRun>> group(List<LoadRun> runs, java.util.function.Function<LoadRun, K> key) {
        Map<K, List<LoadRun>> groups = new LinkedHashMap<>();
        for (LoadRun run : runs) {
            groups.computeIfAbsent(key.apply(run), k -> new ArrayList<>()).add(run);
        }
        return groups;
    }

    private static List<Path> sorted(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }

    /** Every server named in any plot, in legend order (for consistent colours across plots). */
    List<String> servers() {
        TreeSet<String> all = new TreeSet<>(SERVER_ORDER);
        throughput.forEach(p -> all.addAll(p.series().keySet()));
        latency.forEach(p -> all.addAll(p.curves().keySet()));
        return List.copyOf(all);
    }
}
