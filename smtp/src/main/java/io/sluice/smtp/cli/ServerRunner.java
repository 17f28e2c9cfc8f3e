package io.sluice.smtp.cli;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SessionStats;
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
        CountDownLatch stopRequested = new CountDownLatch(1);
        Duration grace = config.get(ConfigKeys.SHUTDOWN_GRACE);
        if (!TerminationSignals.install(stopRequested::countDown)) {
            // No signal handler allowed (-Xrs): stop as gracefully from a hook; the JVM picks the exit status.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server, grace, log), "sluice-shutdown"));
        }
        report(server.stats(), reportSeconds, stopRequested);
        if (stopRequested.getCount() == 0) {
            stop(server, grace, log);
        }
        return 0;
    }

    /** Graceful stop within {@code grace}; see {@link SmtpServer#shutdown}. */
    private static void stop(SmtpServer server, Duration grace, EventLog log) {
        log.log(EventLog.Level.INFO, "stopping", "grace", grace);
        try {
            boolean finished = server.shutdown(grace);
            log.log(EventLog.Level.INFO, "stopped", "transactions_finished", finished);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
        log.close();
    }

    /** Blocks until shutdown, printing messages/s and MB/s every period when asked to. */
    private static void report(SessionStats stats, int seconds, CountDownLatch stopped) {
        long lastMessages = 0;
        long lastOctets = 0;
        try {
            while (!stopped.await(seconds > 0 ? seconds : 3600, TimeUnit.SECONDS)) {
                if (seconds <= 0) {
                    continue;
                }
                long messages = stats.messages();
                long octets = stats.messageOctets();
                if (messages != lastMessages) {
                    System.err.printf("sink: %d msg/s, %.1f MB/s, %d messages, %d connections, %d rejected%n",
                            (messages - lastMessages) / seconds, (octets - lastOctets) / 1e6 / seconds, messages,
                            stats.connections(), stats.rejectedMessages());
                }
                lastMessages = messages;
                lastOctets = octets;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
