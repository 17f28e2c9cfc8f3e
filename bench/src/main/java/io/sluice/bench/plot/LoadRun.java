package io.sluice.bench.plot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One tagged {@code sluice load --json} result (as perf-results/matrix.py writes them), reduced to
 * what the plots need. The headline rate is messages/s, or sessions/s for handshake-only runs; the
 * per-CPU figure prefers matrix.py's {@code cpu_after_drain} (Postfix's queue drain counted) over
 * the generator's own {@code cpu}. Immutable; any thread.
 *
 * @param file             the JSON file
 * @param run              the run folder's name (raw/RUN/)
 * @param scenario         tag {@code scenario}
 * @param family           tag {@code family} (a connection sweep's common name), else the scenario
 * @param server           tag {@code server}
 * @param connections      concurrent connections of the run
 * @param handshakeOnly    whether the rates count sessions rather than messages
 * @param ratePerS         headline wall rate
 * @param perServerCpuS    headline count per server CPU-second, NaN when not measured
 * @param ok               exit status 0
 * @param warmup           a warm-up run (tag warmup=1 or rep=warmup): never plotted
 * @param quick            a {@code run-all.sh --quick} run (tag quick=1): plotted only on request
 * @param sweep            a connection-sweep point (tag sweep=1): throughput plots only
 */
record LoadRun(Path file, String run, String scenario, String family, String server, int connections,
        boolean handshakeOnly, double ratePerS, double perServerCpuS, boolean ok, boolean warmup, boolean quick,
        boolean sweep) {

    /** The run in {@code file}, or empty when the file is not a tagged {@code sluice load} result. */
    static Optional<LoadRun> read(Path file) throws IOException {
        Object json;
        try {
            json = JsonTree.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        String scenario = JsonTree.text(json, "tags", "scenario");
        if (!"sluice load".equals(JsonTree.text(json, "tool")) || scenario == null) {
            return Optional.empty();
        }
        boolean handshakeOnly = Boolean.TRUE.equals(JsonTree.at(json, "options", "handshake_only"));
        String counted = handshakeOnly ? "sessions" : "messages";
        double perCpu = JsonTree.number(json, "cpu_after_drain", counted + "_per_server_cpu_s");
        if (Double.isNaN(perCpu)) {
            perCpu = JsonTree.number(json, "cpu", counted + "_per_server_cpu_s");
        }
        String family = JsonTree.text(json, "tags", "family");
        String server = JsonTree.text(json, "tags", "server");
        return Optional.of(new LoadRun(file, file.getParent().getFileName().toString(), scenario,
                family == null ? scenario : family,
                server == null ? JsonTree.text(json, "options", "target") : server,
                (int) JsonTree.number(json, "options", "connections"), handshakeOnly,
                JsonTree.number(json, "rates", counted + "_per_s"), perCpu,
                JsonTree.number(json, "exit_status") == 0,
                flag(json, "warmup") || "warmup".equals(JsonTree.text(json, "tags", "rep")),
                flag(json, "quick"), flag(json, "sweep")));
    }

    private static boolean flag(Object json, String tag) {
        String value = JsonTree.text(json, "tags", tag);
        return "1".equals(value) || "true".equals(value) || "yes".equals(value);
    }

    /** The HdrHistogram percentile file written beside the JSON ({@code X.json} → {@code X.hgrm}). */
    Path hgrmFile() {
        String name = file.getFileName().toString();
        return file.resolveSibling(name.substring(0, name.length() - ".json".length()) + ".hgrm");
    }
}
