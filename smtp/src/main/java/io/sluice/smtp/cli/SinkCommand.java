package io.sluice.smtp.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import io.sluice.smtp.server.SmtpServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice sink}: accept and discard mail as fast as the machine allows, like Postfix's
 * smtp-sink, reporting messages/s, MB/s and the end-to-end latency of messages stamped by
 * {@code sluice load} once a period and, at exit, a summary line (and {@code --json FILE}).
 */
@Command(name = "sink", mixinStandardHelpOptions = true,
        description = "Accept and discard mail (the measuring partner for load tests); listens on 127.0.0.1:2526 unless --set listen=... says otherwise.")
public final class SinkCommand implements Callable<Integer> {

    /** Beside a default {@code serve} on 2525, so both can run on one machine. */
    static final String DEFAULT_LISTEN = "127.0.0.1:2526";

    @Mixin
    ConfigOptions options;

    @Option(names = "--report", paramLabel = "SECONDS", defaultValue = "1",
            description = "Print messages/s, MB/s and end-to-end latency (from the X-Sluice-Sent stamps of sluice load) this often (0 = never). Default: ${DEFAULT-VALUE}.")
    int reportSeconds;

    @Option(names = "--json", paramLabel = "FILE",
            description = "At exit (SIGTERM, Ctrl-C) write the run's totals, rates and end-to-end latency percentiles as JSON.")
    Path json;

    @Override
    public Integer call() {
        return ServerRunner.run(options, Map.of("listen", DEFAULT_LISTEN, "log.level", "warn"),
                SmtpServer.Mode.SINK, reportSeconds, json);
    }
}
