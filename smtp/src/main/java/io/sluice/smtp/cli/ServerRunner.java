package io.sluice.smtp.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;

/**
 * Starts a server in the foreground and runs it until SIGTERM or Ctrl-C, then stops it gracefully
 * ({@code shutdown.grace}) and returns exit status 0. Called by the CLI commands on the main thread.
 */
final class ServerRunner {

    private ServerRunner() {
    }

    /**
     * @param reportSeconds print a throughput line this often (0 = never)
     * @return the exit status
     */
    static int run(ConfigOptions options, Map<String, String> defaults, SmtpServer.Mode mode, int reportSeconds) {
        return run(options, defaults, mode, reportSeconds, null);
    }

    /**
     * @param reportSeconds print a throughput line (sink: with end-to-end latency) this often (0 = never)
     * @param jsonFile      sink: where to write the run's summary as JSON at exit, or null
     * @return the exit status
     */
    static int run(ConfigOptions options, Map<String, String> defaults, SmtpServer.Mode mode, int reportSeconds,
            Path jsonFile) {
        SluiceConfig config;
        try {
            config = options.load(defaults);
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        EventLog log = new EventLog(EventLog.Level.valueOf(config.get(ConfigKeys.LOG_LEVEL).name()), System.err);
        SmtpServer server;
        try {
            server = SmtpServer.start(config, mode, log);
        } catch (IOException | RuntimeException e) {
            System.err.println("sluice: cannot start: " + e.getMessage());
            log.close();
            return 1;
        }
        Optional<MetricsServer> metrics;
        try {
            metrics = MetricsServer.start(config, server, log);
        } catch (IOException | RuntimeException e) {
            System.err.println("sluice: cannot start: metrics.listen: " + e.getMessage());
            server.close();
            log.close();
            return 1;
        }
        SinkReport report = mode == SmtpServer.Mode.SINK
                ? new SinkReport(server.stats(), server.endToEndLatency(), System.nanoTime()) : null;
        CountDownLatch stopRequested = new CountDownLatch(1);
        Duration grace = config.get(ConfigKeys.SHUTDOWN_GRACE);
        Runnable stop = () -> {
            metrics.ifPresent(MetricsServer::close);
            stop(server, grace, log, report, jsonFile);
        };
        if (!TerminationSignals.install(stopRequested::countDown)) {
            // No signal handler allowed (-Xrs): stop as gracefully from a hook; the JVM picks the exit status.
            Runtime.getRuntime().addShutdownHook(new Thread(stop, "sluice-shutdown"));
        }
        report(report, reportSeconds, stopRequested);
        if (stopRequested.getCount() == 0) {
            stop.run();
        }
        return 0;
    }

    /** Graceful stop within {@code grace} (see {@link SmtpServer#shutdown}), then the sink's summary. */
    private static void stop(SmtpServer server, Duration grace, EventLog log, SinkReport report, Path jsonFile) {
        log.log(EventLog.Level.INFO, "stopping", "grace", grace);
        try {
            boolean finished = server.shutdown(grace);
            log.log(EventLog.Level.INFO, "stopped", "transactions_finished", finished);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
        if (report != null) {
            finalReport(report, jsonFile);
        }
        log.close();
    }

    /** SIGTERM or Ctrl-C: the sink's summary line on stderr and, when asked, its JSON file. */
    private static void finalReport(SinkReport report, Path jsonFile) {
        long now = System.nanoTime();
        System.err.println(report.summaryLine(now));
        if (jsonFile != null) {
            try {
                report.writeJson(jsonFile, now);
            } catch (IOException e) {
                System.err.println("sluice sink: cannot write " + jsonFile + ": " + e.getMessage());
            }
        }
    }

    /** Blocks until a stop is requested, printing the sink's line every period when asked to. */
    private static void report(SinkReport report, int seconds, CountDownLatch stopped) {
        try {
            while (!stopped.await(seconds > 0 ? seconds : 3600, TimeUnit.SECONDS)) {
                String line = seconds > 0 && report != null ? report.intervalLine(System.nanoTime()) : null;
                if (line != null) {
                    System.err.println(line);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
