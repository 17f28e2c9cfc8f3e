package io.sluice.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.IntToLongFunction;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;

/**
 * The outcome of one load run: totals over the measured period (after warm-up), latency
 * histograms per {@link Phase} in microseconds, and counts of every reply code and error kind,
 * all of the measured window's tickets; the warm-up's reply codes and errors are kept apart
 * ({@link #warmupReplyCodes()}, {@link #warmupErrors()}). Immutable once built; the histograms are
 * copies and must not be changed. Any thread.
 */
public final class LoadResult {

    /** Percentiles of the summary and the JSON output. */
    static final double[] PERCENTILES = {50, 90, 99, 99.9};

    private final LoadOptions options;
    private final MachineInfo machine;
    private final String tlsProvider;
    private final long elapsedNanos;
    private final boolean stoppedByErrors;
    private final Map<String, Long> totals;
    private final SortedMap<Integer, Long> replyCodes;
    private final Map<ErrorKind, Long> errors;
    private final SortedMap<Integer, Long> warmupReplyCodes;
    private final Map<ErrorKind, Long> warmupErrors;
    private final long warmupErrorCount;
    private final Map<Phase, Histogram> latencies;
    private final CpuMeter.CpuUsage cpu;
    private final String finishedAtUtc = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();

    LoadResult(LoadOptions options, MachineInfo machine, String tlsProvider, long elapsedNanos,
            boolean stoppedByErrors, MetricsReader reader, CpuMeter.CpuUsage cpu) {
        this.options = options;
        this.cpu = cpu;
        this.machine = machine;
        this.tlsProvider = tlsProvider;
        this.elapsedNanos = Math.max(1, elapsedNanos);
        this.stoppedByErrors = stoppedByErrors;
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("messages_ok", reader.counter(LoopMetrics.MESSAGES_OK));
        counts.put("messages_failed", reader.counter(LoopMetrics.MESSAGES_FAILED));
        counts.put("sessions_ok", reader.counter(LoopMetrics.SESSIONS_OK));
        counts.put("sessions_failed", reader.counter(LoopMetrics.SESSIONS_FAILED));
        counts.put("connections", reader.counter(LoopMetrics.CONNECTIONS));
        counts.put("handshakes", reader.counter(LoopMetrics.HANDSHAKES));
        counts.put("handshakes_full", reader.counter(LoopMetrics.HANDSHAKES) - reader.counter(LoopMetrics.HANDSHAKES_RESUMED));
        counts.put("handshakes_resumed", reader.counter(LoopMetrics.HANDSHAKES_RESUMED));
        counts.put("message_bytes", reader.counter(LoopMetrics.MESSAGE_BYTES));
        counts.put("recipients_accepted", reader.counter(LoopMetrics.RECIPIENTS_ACCEPTED));
        counts.put("errors", reader.counter(LoopMetrics.ERRORS));
        this.totals = Collections.unmodifiableMap(counts);
        this.warmupErrorCount = reader.warmupCounter(LoopMetrics.ERRORS);
        this.replyCodes = codes(reader::replies);
        this.warmupReplyCodes = codes(reader::warmupReplies);
        this.errors = kinds(reader::errors);
        this.warmupErrors = kinds(reader::warmupErrors);
        Map<Phase, Histogram> histograms = new EnumMap<>(Phase.class);
        for (Phase phase : Phase.values()) {
            histograms.put(phase, reader.total(phase).copy());
        }
        this.latencies = Collections.unmodifiableMap(histograms);
    }

    private static SortedMap<Integer, Long> codes(IntToLongFunction replies) {
        SortedMap<Integer, Long> codes = new TreeMap<>();
        for (int code = 200; code < LoopMetrics.REPLY_CODES; code++) {
            long n = replies.applyAsLong(code);
            if (n > 0) {
                codes.put(code, n);
            }
        }
        return Collections.unmodifiableSortedMap(codes);
    }

    private static Map<ErrorKind, Long> kinds(ToLongFunction<ErrorKind> errors) {
        Map<ErrorKind, Long> kinds = new EnumMap<>(ErrorKind.class);
        for (ErrorKind kind : ErrorKind.values()) {
            kinds.put(kind, errors.applyAsLong(kind));
        }
        return Collections.unmodifiableMap(kinds);
    }

    public LoadOptions options() {
        return options;
    }

    public long messagesOk() {
        return totals.get("messages_ok");
    }

    public long messagesFailed() {
        return totals.get("messages_failed");
    }

    public long sessionsOk() {
        return totals.get("sessions_ok");
    }

    public long sessionsFailed() {
        return totals.get("sessions_failed");
    }

    public long handshakes() {
        return totals.get("handshakes");
    }

    /** Handshakes that resumed a session (no certificate shown), of {@link #handshakes()}. */
    public long handshakesResumed() {
        return totals.get("handshakes_resumed");
    }

    public long connections() {
        return totals.get("connections");
    }

    /** Errors of the measured window's tickets (warm-up: {@link #warmupErrors()}). */
    public long errors() {
        return totals.get("errors");
    }

    /** Errors of warm-up tickets, not in {@link #errors()}. */
    public long warmupErrors() {
        return warmupErrorCount;
    }

    /** Errors of {@code kind} of warm-up tickets. */
    public long warmupErrors(ErrorKind kind) {
        return warmupErrors.get(kind);
    }

    /** Replies to warm-up tickets, by code; not in {@link #replyCodes()}. */
    public SortedMap<Integer, Long> warmupReplyCodes() {
        return warmupReplyCodes;
    }

    public long messageBytes() {
        return totals.get("message_bytes");
    }

    public long elapsedNanos() {
        return elapsedNanos;
    }

    /** True when the run ended early because errors exceeded {@code --max-errors}. */
    public boolean stoppedByErrors() {
        return stoppedByErrors;
    }

    /** Replies to the measured window's tickets, by code (warm-up: {@link #warmupReplyCodes()}). */
    public SortedMap<Integer, Long> replyCodes() {
        return replyCodes;
    }

    /** Errors of {@code kind} of the measured window's tickets. */
    public long errors(ErrorKind kind) {
        return errors.get(kind);
    }

    /** Latencies of {@code phase} in microseconds (a copy; do not modify). */
    public Histogram latencyMicros(Phase phase) {
        return latencies.get(phase);
    }

    public double messagesPerSecond() {
        return messagesOk() * 1e9 / elapsedNanos;
    }

    public double handshakesPerSecond() {
        return handshakes() * 1e9 / elapsedNanos;
    }

    public double sessionsPerSecond() {
        return sessionsOk() * 1e9 / elapsedNanos;
    }

    /** The server's CPU seconds in the measured period (its process tree); NaN without --server-pid. */
    public double serverCpuSeconds() {
        return cpu.serverSeconds();
    }

    /** This generator's CPU seconds in the measured period; NaN where /proc is missing. */
    public double generatorCpuSeconds() {
        return cpu.generatorSeconds();
    }

    /** Messages accepted per second of server CPU: capacity, independent of who won the scheduler. */
    public double messagesPerServerCpuSecond() {
        return CpuMeter.CpuUsage.perCpuSecond(messagesOk(), serverCpuSeconds());
    }

    /** Message bytes (as the server stores them) per second, in MB (10^6). */
    public double megabytesPerSecond() {
        return messageBytes() / 1e6 * 1e9 / elapsedNanos;
    }

    /**
     * 0 when the run succeeded: without {@code --max-errors} (-1) that means no error and no failed
     * message or session at all; with it, at most that many errors. 1 otherwise. Errors count here
     * with the warm-up's, as {@code --max-errors} counts them while the run goes: a server that
     * fails during warm-up has failed.
     */
    public int exitStatus() {
        long allErrors = errors() + warmupErrors();
        if (options.maxErrors() < 0) {
            return allErrors == 0 && messagesFailed() == 0 && sessionsFailed() == 0 ? 0 : 1;
        }
        return allErrors > options.maxErrors() ? 1 : 0;
    }

    // ---------------------------------------------------------------- output

    /** Prints the end-of-run table: totals, rates, latency percentiles per phase, codes and errors. */
    public void printSummary(PrintStream out) {
        out.printf(Locale.ROOT, "%n== sluice load: %s, tls=%s%s%s, %d connections x %d msgs/conn, %s model%n",
                options.target().getHostString() + ":" + options.target().getPort(),
                options.tlsMode().name().toLowerCase(Locale.ROOT),
                options.tlsMode() == TlsMode.NONE ? "" : " (" + tlsProvider + ", resume=" + options.resume() + ")",
                options.proxy() == ProxyMode.NONE ? "" : ", proxy=" + options.proxy().name().toLowerCase(Locale.ROOT),
                options.connections(), options.messagesPerConnection(),
                options.openModel() ? String.format(Locale.ROOT, "open %.0f/s", options.ratePerSecond()) : "closed");
        out.printf(Locale.ROOT, "elapsed %.2f s%s%n", elapsedNanos / 1e9, stoppedByErrors ? " (stopped: --max-errors exceeded)" : "");
        out.printf(Locale.ROOT, "messages ok %d  failed %d   %.1f msg/s   %.2f MB/s%n",
                messagesOk(), messagesFailed(), messagesPerSecond(), megabytesPerSecond());
        out.printf(Locale.ROOT, "sessions ok %d  failed %d   %.1f sessions/s   connections %d   handshakes %d (%.1f/s; full %d, resumed %d)%n",
                sessionsOk(), sessionsFailed(), sessionsPerSecond(), connections(), handshakes(), handshakesPerSecond(),
                handshakes() - handshakesResumed(), handshakesResumed());
        printCpu(out);
        out.printf(Locale.ROOT, "%n%-14s %10s %10s %10s %10s %10s %10s%n", "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max");
        for (Phase phase : Phase.values()) {
            Histogram h = latencies.get(phase);
            if (h.getTotalCount() == 0) {
                continue;
            }
            out.printf(Locale.ROOT, "%-14s %10d", phase.label(), h.getTotalCount());
            for (double p : PERCENTILES) {
                out.printf(Locale.ROOT, " %10.3f", h.getValueAtPercentile(p) / 1000.0);
            }
            out.printf(Locale.ROOT, " %10.3f%n", h.getMaxValue() / 1000.0);
        }
        out.print("\nreplies:");
        printCodes(out, replyCodes);
        out.print("\nerrors: " + errors());
        printKinds(out, errors);
        if (options.warmupNanos() > 0) {
            out.print("\nwarm-up (not above): replies");
            printCodes(out, warmupReplyCodes);
            out.print("  errors " + warmupErrors());
            printKinds(out, warmupErrors);
        }
        out.println();
    }

    private static void printCodes(PrintStream out, SortedMap<Integer, Long> codes) {
        codes.forEach((code, n) -> out.print(" " + code + "=" + n));
    }

    private static void printKinds(PrintStream out, Map<ErrorKind, Long> kinds) {
        kinds.forEach((kind, n) -> {
            if (n > 0) {
                out.print(" " + kind.label() + "=" + n);
            }
        });
    }

    private void printCpu(PrintStream out) {
        if (cpu.serverPid() > 0) {
            out.printf(Locale.ROOT, "server cpu %.2f s (pid %d and descendants)   %.1f msg/server-cpu-s   %.1f sessions/server-cpu-s   %.3f ms/msg%n",
                    serverCpuSeconds(), cpu.serverPid(), messagesPerServerCpuSecond(),
                    CpuMeter.CpuUsage.perCpuSecond(sessionsOk(), serverCpuSeconds()),
                    CpuMeter.CpuUsage.millisEach(serverCpuSeconds(), messagesOk()));
        }
        out.printf(Locale.ROOT, "generator cpu %.2f s   %.1f msg/gen-cpu-s   %.1f sessions/gen-cpu-s%n",
                generatorCpuSeconds(), CpuMeter.CpuUsage.perCpuSecond(messagesOk(), generatorCpuSeconds()),
                CpuMeter.CpuUsage.perCpuSecond(sessionsOk(), generatorCpuSeconds()));
    }

    private Map<String, Object> cpuMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        double server = serverCpuSeconds();
        double generator = generatorCpuSeconds();
        map.put("server_pid", cpu.serverPid() > 0 ? cpu.serverPid() : null);
        map.put("server_cpu_s", server);
        map.put("messages_per_server_cpu_s", messagesPerServerCpuSecond());
        map.put("sessions_per_server_cpu_s", CpuMeter.CpuUsage.perCpuSecond(sessionsOk(), server));
        map.put("handshakes_per_server_cpu_s", CpuMeter.CpuUsage.perCpuSecond(handshakes(), server));
        map.put("server_cpu_ms_per_message", CpuMeter.CpuUsage.millisEach(server, messagesOk()));
        map.put("server_cpu_ms_per_session", CpuMeter.CpuUsage.millisEach(server, sessionsOk()));
        map.put("generator_cpu_s", generator);
        map.put("messages_per_generator_cpu_s", CpuMeter.CpuUsage.perCpuSecond(messagesOk(), generator));
        map.put("sessions_per_generator_cpu_s", CpuMeter.CpuUsage.perCpuSecond(sessionsOk(), generator));
        map.put("generator_cpu_ms_per_session", CpuMeter.CpuUsage.millisEach(generator, sessionsOk()));
        return map;
    }

    /** The full result as JSON: options, machine, totals, rates, CPU, percentiles, codes, errors. */
    public String toJson() {
        return toJson(Map.of());
    }

    /**
     * The full result as JSON with {@code runInfo}'s entries (the command line, {@code --tag}s)
     * after the tool name, so a results table can name the scenario and target of every file.
     */
    public String toJson(Map<String, Object> runInfo) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("tool", "sluice load");
        root.put("finished_at", finishedAtUtc);
        root.putAll(runInfo);
        root.put("options", optionsMap());
        root.put("machine", machine.toMap());
        root.put("elapsed_s", elapsedNanos / 1e9);
        root.put("stopped_by_errors", stoppedByErrors);
        root.put("totals", totals);
        Map<String, Object> rates = new LinkedHashMap<>();
        rates.put("messages_per_s", messagesPerSecond());
        rates.put("sessions_per_s", sessionsPerSecond());
        rates.put("handshakes_per_s", handshakesPerSecond());
        rates.put("mb_per_s", megabytesPerSecond());
        root.put("rates", rates);
        root.put("cpu", cpuMap());
        Map<String, Object> phases = new LinkedHashMap<>();
        for (Phase phase : Phase.values()) {
            phases.put(phase.label(), percentilesMap(latencies.get(phase)));
        }
        root.put("latency_ms", phases);
        root.put("reply_codes", codesMap(replyCodes));
        root.put("errors", kindsMap(errors));
        Map<String, Object> warmup = new LinkedHashMap<>();
        warmup.put("errors_total", warmupErrors());
        warmup.put("reply_codes", codesMap(warmupReplyCodes));
        warmup.put("errors", kindsMap(warmupErrors));
        root.put("warmup", warmup);
        root.put("exit_status", exitStatus());
        return JsonEncoder.encode(root);
    }

    public void writeJson(Path file) throws IOException {
        writeJson(file, Map.of());
    }

    public void writeJson(Path file, Map<String, Object> runInfo) throws IOException {
        Files.writeString(file, toJson(runInfo), StandardCharsets.UTF_8);
    }

    /** The whole-message latency distribution, HdrHistogram's percentile format, in milliseconds. */
    public void writeHgrm(Path file) throws IOException {
        try (PrintStream out = new PrintStream(Files.newOutputStream(file), false, StandardCharsets.UTF_8)) {
            Phase phase = options.handshakeOnly() ? Phase.SESSION : Phase.MESSAGE;
            latencies.get(phase).outputPercentileDistribution(out, 1000.0);
        }
    }

    private Map<String, Object> optionsMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("target", options.target().getHostString() + ":" + options.target().getPort());
        map.put("tls", options.tlsMode().name().toLowerCase(Locale.ROOT));
        map.put("tls_provider", options.tlsMode() == TlsMode.NONE ? "none" : tlsProvider);
        map.put("protocols", List.copyOf(options.protocols()));
        map.put("resume", options.resume());
        map.put("connections", options.connections());
        map.put("messages_per_connection", options.messagesPerConnection());
        map.put("messages", options.totalMessages());
        map.put("duration_s", options.durationNanos() / 1e9);
        map.put("warmup_s", options.warmupNanos() / 1e9);
        map.put("size_dist", options.sizes().toString());
        map.put("recipients", options.recipients());
        map.put("pipelining", options.pipelining());
        map.put("bdat", options.bdat().name().toLowerCase(Locale.ROOT));
        map.put("chunk_octets", options.chunkOctets() == 0 ? null : options.chunkOctets());
        map.put("handshake_only", options.handshakeOnly());
        map.put("proxy", options.proxy().name().toLowerCase(Locale.ROOT));
        map.put("rate_per_s", options.openModel() ? options.ratePerSecond() : null);
        map.put("threads", options.threads());
        map.put("max_errors", options.maxErrors());
        map.put("server_pid", options.serverPid() > 0 ? options.serverPid() : null);
        return map;
    }

    private static Map<String, Object> codesMap(SortedMap<Integer, Long> codes) {
        Map<String, Object> map = new LinkedHashMap<>();
        codes.forEach((code, n) -> map.put(Integer.toString(code), n));
        return map;
    }

    private static Map<String, Object> kindsMap(Map<ErrorKind, Long> kinds) {
        Map<String, Object> map = new LinkedHashMap<>();
        kinds.forEach((kind, n) -> map.put(kind.label(), n));
        return map;
    }

    private static Map<String, Object> percentilesMap(Histogram h) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("count", h.getTotalCount());
        boolean empty = h.getTotalCount() == 0;
        map.put("mean", empty ? null : h.getMean() / 1000.0);
        for (double p : PERCENTILES) {
            map.put("p" + (p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p)),
                    empty ? null : h.getValueAtPercentile(p) / 1000.0);
        }
        map.put("max", empty ? null : h.getMaxValue() / 1000.0);
        return map;
    }
}
