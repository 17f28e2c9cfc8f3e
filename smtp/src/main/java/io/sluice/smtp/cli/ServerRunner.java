package io.sluice.smtp.cli;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SessionStats;
import io.sluice.smtp.server.SmtpServer;

/** Starts a server in the foreground and runs it until the JVM is asked to stop (SIGTERM, Ctrl-C). */
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
        Optional<MetricsServer> metrics;
        try {
            metrics = MetricsServer.start(config, server, log);
        } catch (IOException | RuntimeException e) {
            System.err.println("sluice: cannot start: metrics.listen: " + e.getMessage());
            server.close();
            log.close();
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.log(EventLog.Level.INFO, "stopping");
            metrics.ifPresent(MetricsServer::close);
            server.close();
            log.close();
            stopped.countDown();
        }, "sluice-shutdown"));
        report(server.stats(), reportSeconds, stopped);
        return 0;
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
